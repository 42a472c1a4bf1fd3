import type { DataPlane } from '../data/data-plane';
import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { classifyExit, describeExit, PoolFailedError, type WorkerExit } from '../errors';
import type { PoolConfig } from '../options/resolve-options';
import { NO_HOST_ACCESS, type HostAccess } from '../snakepit.constants';
import { ForkLauncher } from '../process/fork-launcher';
import { SPAWN_LAUNCHER } from '../process/spawned-process';
import type { WorkerLauncher } from '../process/worker-process';
import { backoffDelay } from '../supervision/backoff';
import { PoisonDetector, type PoisonTool } from '../supervision/poison-detector';
import { RestartBudget } from '../supervision/restart-budget';
import type { RecycleReason } from '../supervision/recycle-policy';
import { recycleReason } from '../supervision/recycle-policy';
import { WorkerMonitor } from '../supervision/worker-monitor';
import { SnakepitEvent, type EventMap, type EventName } from '../telemetry/events';
import type { CallBook } from './call-book';
import type { Dispatcher } from './dispatcher';
import { Worker } from './worker';
import type { PoolWorker, StopReason, WorkerFactory } from './worker.types';
import { templateSpec, workerSpec } from './worker-spec';
import type { FleetContext, SpawnPlan } from './fleet.types';

export type { FleetContext, SessionHandOver } from './fleet.types';

/**
 * The processes of one pool: it starts them, watches them (heartbeats, age, memory), replaces
 * those that die (with backoff, within the restart budget) or age (recycling), and records each
 * in the process registry. Which call runs where is the pool's business, not the fleet's.
 *
 * Each start of the pool is a generation. Whatever an older generation had under way (a start,
 * a replacement, a taint) is dropped once the pool stopped or failed, so it can never add
 * workers to a pool that has started again.
 */
export class WorkerFleet {
  readonly workers = new Map<string, PoolWorker>();
  readonly counters = { crashes: 0, restarts: 0, recycled: 0, unresponsive: 0 };
  private readonly budget: RestartBudget;
  private readonly poison: PoisonDetector;
  private readonly monitors = new Map<string, WorkerMonitor>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Recycled workers whose successor is not ready yet, with the promise of its readiness. They
   *  stay in the scheduler, suspended, so that calls placed on them wait for the successor. */
  private readonly successions = new Map<string, Promise<void>>();
  private readonly generationOf = new Map<string, number>();
  private readonly logger: Logger;
  private host: HostAccess = NO_HOST_ACCESS;
  private seq = 0;
  private generation = 0;
  /** While true, workers that leave are replaced. */
  private accepting = false;
  private readonly killTimeoutMs: number;
  private readonly createWorker: WorkerFactory;
  /** Spawns the workers, or forks them from the pool's template. */
  private readonly launcher: WorkerLauncher;

  constructor(
    private readonly config: PoolConfig,
    private readonly context: FleetContext,
    /** Where workers come and go for the scheduler. */
    private readonly dispatcher: Dispatcher,
    /** Who knows the calls on each worker. */
    private readonly book: CallBook,
    /** Where the workers' shared-memory segments are, to sweep what a dead one left. */
    private readonly data: DataPlane,
    /** The restart budget is spent: the pool fails. */
    private readonly onBudgetSpent: (error: PoolFailedError) => void,
  ) {
    this.killTimeoutMs = context.killTimeoutMs;
    this.createWorker = context.createWorker ?? ((id, pool, spec, launcher) => new Worker(id, pool, spec, launcher));
    this.budget = new RestartBudget(config.restart);
    this.poison = new PoisonDetector(config.restart.poisonCrashes, config.restart.windowMs);
    this.logger = new Logger(`Snakepit:${config.name}`);
    this.launcher = launcherFor(config, context, this.logger);
  }

  /**
   * Starts `poolSize` workers, `startupConcurrency` at a time. Rejects with the first failure
   * (the caller then stops the rest).
   */
  async startAll(host: HostAccess): Promise<void> {
    this.host = host;
    this.accepting = true;
    const generation = ++this.generation;
    this.budget.reset();
    await this.launcher.prepare();
    if (!this.live(generation)) return;
    const pending = Array.from({ length: this.config.poolSize }, () => () => this.bringUp(this.spawn(), {}, generation));
    let failure: Error | undefined;
    const runners = Array.from({ length: Math.min(this.config.startupConcurrency, pending.length) }, async () => {
      for (let next = pending.shift(); next && !failure && this.live(generation); next = pending.shift()) {
        await next().catch((error: Error) => {
          failure ??= error;
        });
      }
    });
    await Promise.all(runners);
    if (failure) throw failure;
  }

  /**
   * Replaces a healthy worker: it takes no new call from now, finishes the one it runs, then
   * stops; a successor starts at once and, once ready, takes over its sessions and the calls
   * waiting for it. Resolves when the successor is ready; rejects if it could not start (another
   * one is then started in its place). A worker that is not ready is left alone.
   */
  recycle(worker: PoolWorker, reason: RecycleReason): Promise<void> {
    const pending = this.successions.get(worker.id);
    if (pending) return pending;
    if (!this.accepting || !worker.markRecycling()) return Promise.resolve();
    this.dispatcher.suspend(worker.id);
    const generation = this.generation;
    const successor = this.spawn();
    this.logger.log(`recycling worker ${worker.id} (${reason}); ${successor.id} takes over once ready`);
    if (this.book.load(worker.id).inFlight === 0) void worker.stop(this.killTimeoutMs, 'recycle');
    const plan: SpawnPlan = { heirOf: { workerId: worker.id, reason } };
    const done = this.bringUp(successor, plan, generation).catch((error: Error) => {
      if (this.live(generation)) this.replaceFailedStart(plan, error);
      throw error;
    });
    done.catch(() => undefined);
    this.successions.set(worker.id, done);
    return done;
  }

  /**
   * A call on `worker` is over. Returns whether it may take another: not when it is being
   * recycled (it stops now if idle) or has just reached a recycling limit.
   */
  released(worker: PoolWorker): boolean {
    if (worker.state === 'recycling') {
      const { inFlight, stuck, running } = this.book.load(worker.id);
      if (inFlight === 0) void worker.stop(this.killTimeoutMs, 'recycle');
      // Only stuck calls are left running (calls sent ahead behind them go back to the queue).
      else if (running <= stuck) worker.kill('stuck');
      return false;
    }
    const reason = recycleReason(worker, this.config.recycle, Date.now());
    if (!reason) return true;
    void this.recycle(worker, reason);
    return false;
  }

  /** Kills a worker the pool gives up on; it gets no more calls from now, not from its exit. */
  retire(worker: PoolWorker, reason: StopReason, facts?: { missedHeartbeats?: number }): void {
    if (!worker.recycled) this.dispatcher.remove(worker.id);
    worker.kill(reason, facts);
  }

  /**
   * A call kept running after its caller gave up and cancelGraceMs passed: its worker is
   * replaced. When other calls still run on it (thread profile), it is recycled instead, so they
   * finish, and killed as soon as only stuck calls are left on it.
   */
  retireStuck(worker: PoolWorker): void {
    // Calls sent ahead that wait behind the stuck one cannot start: they do not keep it alive.
    const { running, stuck } = this.book.load(worker.id);
    if (running > stuck) void this.recycle(worker, 'stuck').catch(() => undefined);
    else this.retire(worker, 'stuck');
  }

  /** Stops replacing workers and stops every one: SIGTERM, then SIGKILL after `killTimeoutMs`. */
  async stopAll(killTimeoutMs: number): Promise<number> {
    const stopping = this.haltReplacements();
    await Promise.all(stopping.map((worker) => worker.stop(killTimeoutMs, 'shutdown')));
    await this.launcher.stop(killTimeoutMs);
    return stopping.length;
  }

  /** Stops replacing workers and SIGKILLs every one (the pool failed); none takes a call from now. */
  killAll(): void {
    for (const worker of this.haltReplacements()) {
      this.dispatcher.remove(worker.id);
      worker.kill('shutdown');
    }
    void this.launcher.stop(0);
  }

  /** Tools under which workers keep dying. */
  poisonTools(): PoisonTool[] {
    return this.poison.suspects(Date.now());
  }

  find(workerId: string): PoolWorker | undefined {
    return this.workers.get(workerId);
  }

  private haltReplacements(): PoolWorker[] {
    this.accepting = false;
    this.generation++;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const monitor of this.monitors.values()) monitor.stop();
    for (const recycled of this.successions.keys()) this.dispatcher.remove(recycled);
    this.successions.clear();
    return [...this.workers.values()];
  }

  /** Whether work of that generation is still wanted. */
  private live(generation: number): boolean {
    return this.accepting && generation === this.generation;
  }

  // ── one worker's life ─────────────────────────────────────────────────

  /** Records, then starts, one process; it is expected (not yet schedulable) until bringUp(). */
  private spawn(): PoolWorker {
    const id = `${this.config.name}-${++this.seq}`;
    const secrets = { hostAddress: this.host.address, hostSecret: this.host.secret, workerSecret: randomBytes(32).toString('hex') };
    const sharedMemory = this.data.forWorker(id);
    const spec = workerSpec(this.config, id, this.context.runId, { socketPath: this.context.sockets.pathFor(id), secrets, sharedMemory }, this.killTimeoutMs);
    this.context.registry.reserve(id, this.launcher.command(spec));
    const worker = this.createWorker(id, this.config.name, spec, this.launcher);
    const spawned = (pid: number | undefined) => {
      this.context.registry.bind(id, pid);
      this.emit(SnakepitEvent.WorkerSpawned, { pool: this.config.name, workerId: id, pid });
    };
    this.workers.set(id, worker);
    this.generationOf.set(id, this.generation);
    this.dispatcher.expect(id);
    // A forked worker's pid comes from its template, before its exit can.
    if (worker.pid === undefined) void worker.pidKnown.then(spawned);
    void worker.exited.then((exit) => this.onExit(worker, exit));
    if (worker.pid !== undefined) spawned(worker.pid);
    return worker;
  }

  /** Waits for the worker's handshake, then hands it to the pool (after its taint, if any). */
  private async bringUp(worker: PoolWorker, plan: SpawnPlan, generation: number): Promise<void> {
    await worker.start();
    if (!this.live(generation)) {
      worker.kill('unwanted');
      return;
    }
    this.emit(SnakepitEvent.WorkerReady, {
      pool: this.config.name,
      workerId: worker.id,
      pid: worker.pid,
      startupMs: worker.readyAt!.getTime() - worker.startedAt.getTime(),
    });
    if (WorkerMonitor.wanted(this.config)) {
      const monitor = new WorkerMonitor(worker, this.config, {
        unresponsive: (stale, missed) => this.onUnresponsive(stale, missed),
        due: (aged, reason) => void this.recycle(aged, reason),
      });
      this.monitors.set(worker.id, monitor);
      monitor.start();
    }
    if (plan.heirOf) this.takeOver(worker, plan.heirOf);
    if (!plan.taintMs) return this.dispatcher.add(worker);
    this.later(plan.taintMs, () => {
      if (this.live(generation) && worker.state === 'ready' && this.workers.has(worker.id)) this.dispatcher.add(worker);
    });
  }

  /** A successor is ready: the recycled worker's waiting calls and sessions move to it. */
  private takeOver(successor: PoolWorker, from: { workerId: string; reason: RecycleReason }): void {
    this.successions.delete(from.workerId);
    this.context.affinity.handOver(this.config.name, from.workerId, successor.id);
    this.dispatcher.remove(from.workerId, successor.id);
    this.counters.recycled++;
    this.emit(SnakepitEvent.WorkerRecycled, { pool: this.config.name, workerId: from.workerId, reason: from.reason, successorId: successor.id });
  }

  private onUnresponsive(worker: PoolWorker, missed: number): void {
    this.counters.unresponsive++;
    this.logger.warn(`worker ${worker.id} (pid ${worker.pid}) missed ${missed} heartbeats; killing and replacing it`);
    this.emit(SnakepitEvent.WorkerUnresponsive, { pool: this.config.name, workerId: worker.id, pid: worker.pid, missedHeartbeats: missed });
    this.retire(worker, 'unresponsive', { missedHeartbeats: missed });
  }

  private onExit(worker: PoolWorker, exit: WorkerExit): void {
    // Segments it made and never handed over (a result being written when it died) go first.
    this.data.sweep(worker.id);
    const toolsRunning = this.book.toolsOn(worker.id);
    const wasBusy = toolsRunning.length > 0;
    const generation = this.generationOf.get(worker.id)!;
    this.generationOf.delete(worker.id);
    this.monitors.get(worker.id)?.stop();
    this.monitors.delete(worker.id);
    this.context.registry.forget(worker.id);
    this.context.sockets.release(worker.id);
    this.workers.delete(worker.id);
    // A recycled worker leaves the scheduler when its successor takes over.
    if (!this.successions.has(worker.id)) this.dispatcher.remove(worker.id);
    const reason = worker.stopReason ?? 'crash';
    const pool = this.config.name;
    const facts = { pool, workerId: worker.id, pid: worker.pid, exitCode: exit.exitCode, signal: exit.signal };
    if (reason === 'crash') {
      this.counters.crashes++;
      this.emit(SnakepitEvent.WorkerCrashed, { ...facts, classification: classifyExit(exit), inFlight: wasBusy });
    }
    this.emit(SnakepitEvent.WorkerTerminated, { ...facts, reason });
    // A worker that never got ready is the start path's failure to handle; a recycled one has its successor.
    if (!worker.readyAt || worker.recycled || !this.live(generation) || reason === 'unwanted' || reason === 'shutdown') return;
    const crashed = reason === 'crash' || reason === 'unresponsive';
    if (reason === 'crash') this.logger.warn(`worker ${worker.id} (pid ${worker.pid}) ${describeExit(exit)}; replacing it`);
    else if (!crashed) this.logger.log(`worker ${worker.id} (pid ${worker.pid}) was stopped (${reason}); replacing it`);
    const taintMs = crashed && wasBusy && this.config.crashBarrier.enabled ? this.config.crashBarrier.taintMs : 0;
    if (crashed && wasBusy) {
      // The call killed it: that call's fault, not the pool's. Replaced off the budget: at once,
      // unless a tool it ran keeps killing workers and others still serve, when replacements
      // back off (a stream of poison requests cannot make the pool spawn without end, nor
      // leave it with no worker).
      const backoff = this.notePoison(toolsRunning);
      const othersServe = [...this.workers.values()].some((other) => other.serving);
      return this.replace({ replaces: worker.id, taintMs }, undefined, othersServe ? backoff : 0);
    }
    const failure = reason === 'crash' ? `${worker.id} ${describeExit(exit)}` : `${worker.id} stopped answering heartbeats`;
    this.replace({ replaces: worker.id, taintMs }, crashed ? failure : undefined);
  }

  /** Counts the death against the tools it ran, reports new suspects, and returns how long the
   *  replacement waits: 0, or a backoff that grows with the suspect's deaths past the threshold. */
  private notePoison(tools: string[]): number {
    const { poisonCrashes, windowMs, backoffMs, maxBackoffMs } = this.config.restart;
    const now = Date.now();
    for (const suspect of this.poison.record(tools, now)) {
      this.logger.warn(
        `${suspect.crashes} workers died running "${suspect.tool}" within ${windowMs} ms (restart.poisonCrashes ${poisonCrashes}): ` +
          'a request to it probably kills any worker; look at its arguments. Its replacements back off from now',
      );
      this.emit(SnakepitEvent.PoisonToolSuspected, { pool: this.config.name, ...suspect, windowMs });
    }
    const worst = Math.max(0, ...this.poison.suspects(now).filter((suspect) => tools.includes(suspect.tool)).map((suspect) => suspect.crashes));
    return worst === 0 ? 0 : backoffDelay(backoffMs, worst - poisonCrashes, maxBackoffMs);
  }

  /**
   * Starts a replacement. A replacement for a worker that died idle or failed to start counts
   * against the restart budget and waits its backoff; a spent budget fails the pool. `failure`
   * says what went wrong (counted replacements only).
   */
  private replace(plan: SpawnPlan, failure?: string, delayMs = 0): void {
    if (failure !== undefined) {
      const allowed = this.budget.next(Date.now());
      if (allowed === undefined) return this.giveUp(failure);
      delayMs = allowed;
    }
    const generation = this.generation;
    this.later(delayMs, () => {
      if (!this.live(generation)) return;
      const worker = this.spawn();
      this.counters.restarts++;
      const restartsInWindow = this.budget.used(Date.now());
      // After its `spawned` event (a forked worker's pid comes from its template a little later).
      void worker.pidKnown.then(() => {
        this.emit(SnakepitEvent.WorkerRestarted, { pool: this.config.name, workerId: worker.id, replaces: plan.replaces, delayMs, restartsInWindow });
        if (plan.taintMs) {
          this.emit(SnakepitEvent.WorkerTainted, { pool: this.config.name, workerId: worker.id, replaces: plan.replaces, taintMs: plan.taintMs });
        }
      });
      const started = this.bringUp(worker, plan, generation).catch((error: Error) => {
        if (this.live(generation)) this.replaceFailedStart(plan, error);
        throw error;
      });
      started.catch(() => undefined);
      if (plan.heirOf) this.successions.set(plan.heirOf.workerId, started);
    });
  }

  /** A replacement or successor could not start: another try, counted against the budget. A
   *  successor's replacement is the successor now. */
  private replaceFailedStart(plan: SpawnPlan, error: Error): void {
    this.logger.error(`could not start a replacement worker: ${error.message}`);
    const failure = `a replacement failed to start: ${error.message.split('\n')[0]}`;
    this.replace({ replaces: plan.replaces ?? plan.heirOf?.workerId, heirOf: plan.heirOf }, failure);
  }

  private giveUp(lastFailure: string): void {
    const { maxRestarts, windowMs, cooldownMs } = this.config.restart;
    this.onBudgetSpent(new PoolFailedError(this.config.name, maxRestarts, windowMs, cooldownMs, lastFailure));
  }

  private emit<K extends EventName>(event: K, payload: EventMap[K]): void {
    this.context.events.emit(event, payload);
  }

  private later(delayMs: number, action: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      action();
    }, delayMs);
    this.timers.add(timer);
  }
}

/** Spawns every worker, or (workers.start: 'fork', on Linux) forks them from the pool's template.
 *  Elsewhere a fork is not safe enough (macOS: after Objective-C and Accelerate start) or not
 *  there (Windows). */
function launcherFor(config: PoolConfig, context: FleetContext, logger: Logger): WorkerLauncher {
  if (context.workerStart !== 'fork') return SPAWN_LAUNCHER;
  if (process.platform !== 'linux' || !context.sockets.attachPath) {
    logger.warn("workers.start is 'fork', but workers are forked on Linux only (over Unix sockets): they are spawned");
    return SPAWN_LAUNCHER;
  }
  const attachPath = context.sockets.attachPath.bind(context.sockets);
  return new ForkLauncher({ template: templateSpec(config, context.runId), registry: context.registry, attachPath, logger });
}
