import { Logger } from '@nestjs/common';
import { decodeReply, encodeArgs } from '../bridge/codec';
import type { WireExecuteReply } from '../bridge/wire';
import { ChunkStream } from './chunk-stream';
import {
  PayloadTooLargeError,
  PoolClosedError,
  PoolSaturatedError,
  QueueTimeoutError,
  RequestAbortedError,
  SessionWorkerUnavailableError,
  WorkerBusyError,
  RequestTimeoutError,
  SnakepitError,
  UnknownToolError,
  WorkerCrashError,
  ToolKindError,
  WorkerProtocolError,
  WorkerStartError,
  WorkerUnresponsiveError,
  type PoolFailedError,
} from '../errors';
import type { PoolConfig } from '../options/resolve-options';
import { backoffDelay } from '../supervision/backoff';
import { CallMetrics } from '../telemetry/call-metrics';
import { SnakepitEvent } from '../telemetry/events';
import { startCallSpan } from '../telemetry/tracing';
import { unstick, type PendingCall, type SessionCall } from './pending-call';
import type { ExecuteOptions, PoolStats, PoolStatus } from './pool.types';
import { assertValidCall } from './call-validation';
import { Scheduler, type RejectReason, type SchedulerAction } from './scheduler';
import { runStream, stopRunningStream, type StreamPool } from './stream-run';
import type { PythonToolInfo, StopReason, Worker, WorkerInfo } from './worker';
import { WorkerFleet, type FleetContext, type FleetPort } from './worker-fleet';

/** Room for the request's other fields next to the arguments. */
const ENVELOPE_BYTES = 4096;
/** The longest wait before retrying an idempotent call. */
const MAX_RETRY_BACKOFF_MS = 30_000;
const SATURATION_EVENT_EVERY_MS = 1000;

type Counters = Pick<
  PoolStats,
  'requests' | 'succeeded' | 'errors' | 'timeouts' | 'aborted' | 'cancelled' | 'rejected' | 'retries'
>;

/** The worker died under the call (by itself, or killed for missing its heartbeats). */
function isWorkerDeath(error: Error): error is WorkerCrashError | WorkerUnresponsiveError {
  return error instanceof WorkerCrashError || error instanceof WorkerUnresponsiveError;
}

/** A promise with its settle functions, for `ready()`. */
class Readiness {
  readonly promise: Promise<void>;
  resolve!: () => void;
  reject!: (error: Error) => void;
  constructor() {
    this.promise = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.promise.catch(() => undefined);
  }
}

/**
 * One named pool: its workers, its queue and the calls in flight. The Scheduler decides;
 * the pool carries the decisions out and keeps the promises it gave callers.
 */
export class Pool {
  private readonly scheduler: Scheduler;
  private readonly fleet: WorkerFleet;
  private readonly calls = new Map<string, PendingCall>();
  private readonly logger: Logger;
  private readiness = new Readiness();
  private status: PoolStatus = 'starting';
  private tools?: Map<string, PythonToolInfo>;
  /** Why the pool is `failed`: its start error, or PoolFailedError; calls get it until it recovers. */
  private failure?: SnakepitError;
  private hostEnv?: Promise<Record<string, string>>;
  private cooldownTimer?: NodeJS.Timeout;
  /** Set by the first close(); later calls wait for the same one. */
  private closing?: Promise<void>;
  /** Set while a failed pool starts again, so that its readiness is announced as a recovery. */
  private recovering = false;
  /** What the stream path (stream-run.ts) may do to this pool. */
  private readonly streamPool: StreamPool;
  private requestSeq = 0;
  private saturatedAt = 0;
  private readonly metrics = new CallMetrics();
  private idleWaiters: Array<() => void> = [];
  private readonly counters: Counters = {
    requests: 0, succeeded: 0, errors: 0, timeouts: 0, aborted: 0, cancelled: 0, rejected: 0, retries: 0,
  };

  constructor(readonly config: PoolConfig, private readonly context: FleetContext) {
    this.scheduler = new Scheduler(config.queueMaxSize);
    this.logger = new Logger(`Snakepit:${config.name}`);
    const port: FleetPort = {
      expect: (workerId) => this.scheduler.expectWorker(workerId, config.concurrentCalls),
      add: (worker) => this.addWorker(worker),
      remove: (workerId, successor) => this.apply(this.scheduler.removeWorker(workerId, successor)),
      suspend: (workerId) => this.scheduler.suspend(workerId),
      busy: (workerId) => this.scheduler.inUse(workerId) > 0,
      failed: (error) => this.fail(error),
    };
    this.fleet = new WorkerFleet(config, context, port);
    this.streamPool = {
      cancelGraceMs: config.cancelGraceMs,
      settle: (call, error, value, cancelled) => this.settle(call, error, value, cancelled),
      fail: (call, error, worker, retryable) => this.failRunning(call, error, worker, retryable),
      release: (worker) => this.release(worker),
      retire: (worker, reason) => this.fleet.retire(worker, reason),
      retireStuck: (call, worker) => this.retireStuck(call, worker),
      warn: (message) => this.logger.warn(message),
    };
  }

  get name(): string {
    return this.config.name;
  }

  /**
   * Starts every worker, `startupConcurrency` at a time, once `hostEnv` (how workers reach the
   * host bridge) is known. Resolves when all are ready.
   */
  async start(hostEnv: Promise<Record<string, string>>): Promise<void> {
    this.hostEnv = hostEnv;
    try {
      const env = await hostEnv;
      if (this.status !== 'starting') return; // closed while the host got ready
      await this.fleet.startAll(env);
    } catch (error) {
      this.fail(error as Error);
      throw error;
    }
    if (this.status !== 'starting') return;
    this.status = 'ready';
    const workers = this.fleet.workers.size;
    this.logger.log(`${this.recovering ? 'recovered' : 'ready'}: ${workers} workers of ${this.config.adapter}`);
    this.context.emit(this.recovering ? SnakepitEvent.PoolRecovered : SnakepitEvent.PoolReady, { pool: this.name, workers });
    this.recovering = false;
    this.readiness.resolve();
  }

  /** Resolves when the pool can serve; rejects if it failed (to start, or later). */
  ready(): Promise<void> {
    return this.readiness.promise;
  }

  /**
   * A failed pool starts again now (without waiting for restart.cooldownMs); a running pool
   * recycles every worker. Resolves when the pool is ready.
   */
  async restart(): Promise<void> {
    if (this.isShuttingDown) throw new PoolClosedError(this.name);
    if (this.status === 'failed') {
      clearTimeout(this.cooldownTimer);
      this.status = 'starting';
      this.failure = undefined;
      this.recovering = true;
      this.readiness = new Readiness();
      this.logger.log('starting again after its failure');
      // The outcome is the pool's: ready, failed again, or closed meanwhile.
      await this.start(this.hostEnv ?? Promise.resolve({})).catch(() => undefined);
      return this.ready();
    }
    if (this.status === 'ready') await Promise.all(this.listWorkers().map((info) => this.recycle(info.id)));
    return this.ready();
  }

  /** Replaces one worker by a successor (it finishes its current call first). Resolves when
   *  the successor is ready; false if this pool has no such worker. */
  async recycle(workerId: string): Promise<boolean> {
    const worker = this.fleet.find(workerId);
    if (!worker) return false;
    await this.fleet.recycle(worker, 'manual');
    return true;
  }

  hasWorker(workerId: string): boolean {
    return this.fleet.find(workerId) !== undefined;
  }

  /** Runs `tool` on a worker and resolves with its result. */
  async execute(tool: string, args: unknown, options: ExecuteOptions = {}, session?: SessionCall): Promise<unknown> {
    const payload = this.prepare(tool, args, options, false);
    return new Promise((resolve, reject) => this.submit('unary', tool, payload, options, session, resolve, reject));
  }

  /** Runs a streaming tool; its chunks arrive through the returned iterator, with back-pressure. */
  executeStream(tool: string, args: unknown, options: ExecuteOptions = {}, session?: SessionCall): ChunkStream {
    let payload: Buffer;
    try {
      payload = this.prepare(tool, args, options, true);
    } catch (error) {
      return ChunkStream.failed(error as Error);
    }
    const chunks = new ChunkStream();
    // Until a worker takes it (and attaches its own control), a dropped stream just leaves the queue.
    let call: PendingCall | undefined;
    chunks.attach({
      pause: () => undefined,
      resume: () => undefined,
      cancel: () => {
        if (call?.state === 'queued' && this.scheduler.withdraw(call.id)) this.settle(call, undefined, undefined, true);
      },
    });
    call = this.submit('stream', tool, payload, options, session, () => undefined, (error) => chunks.fail(error), chunks);
    return chunks;
  }

  /** Checks a call before it queues; returns its arguments as JSON bytes. */
  private prepare(tool: string, args: unknown, options: ExecuteOptions, streaming: boolean): Buffer {
    assertValidCall(tool, options);
    this.assertOpen();
    const payload = encodeArgs(tool, args);
    if (payload.length + ENVELOPE_BYTES > this.config.maxMessageBytes) {
      throw new PayloadTooLargeError(
        'arguments',
        tool,
        `${payload.length} bytes of JSON; the limit is ${this.config.maxMessageBytes} bytes`,
      );
    }
    // Before any worker is ready the tool list is unknown: the check then happens at dispatch.
    if (this.tools) this.assertToolKind(tool, streaming);
    if (options.signal?.aborted) throw new RequestAbortedError(tool, options.signal.reason);
    return payload;
  }

  private assertToolKind(tool: string, streaming: boolean): void {
    const info = this.tools!.get(tool);
    if (!info) throw this.unknownTool(tool);
    if (info.supportsStreaming !== streaming) throw new ToolKindError(tool, info.supportsStreaming);
  }

  /** Python tools of this pool's adapter (known once a worker is ready). */
  listTools(): PythonToolInfo[] {
    return [...(this.tools?.values() ?? [])];
  }

  stats(): PoolStats {
    const workers = { total: this.fleet.workers.size, starting: 0, ready: 0, stopping: 0 };
    for (const worker of this.fleet.workers.values()) {
      if (worker.state === 'starting') workers.starting++;
      else if (worker.state === 'ready') workers.ready++;
      else if (worker.state === 'stopping') workers.stopping++;
    }
    const { crashes, restarts, recycled, unresponsive } = this.fleet.counters;
    return {
      pool: this.name,
      status: this.status,
      workers,
      busy: this.scheduler.busyWorkers,
      queued: this.scheduler.queued,
      ...this.counters,
      crashes,
      unresponsive,
      restarts,
      recycled,
      latency: this.metrics.latency(),
      tools: this.metrics.byTool(),
    };
  }

  listWorkers(): WorkerInfo[] {
    return [...this.fleet.workers.values()].map((worker) => worker.info());
  }

  /**
   * Stops taking work, lets queued and running calls finish for up to `graceMs`, fails what is
   * left with PoolClosedError, then stops every worker (SIGTERM, SIGKILL after `killTimeoutMs`).
   */
  close(graceMs: number, killTimeoutMs: number): Promise<void> {
    this.closing ??= this.shutDown(graceMs, killTimeoutMs);
    return this.closing;
  }

  private async shutDown(graceMs: number, killTimeoutMs: number): Promise<void> {
    const wasStarting = this.status === 'starting';
    this.status = 'closing';
    clearTimeout(this.cooldownTimer);
    if (wasStarting) this.readiness.reject(new PoolClosedError(this.name, 'it was closed before it was ready'));
    await this.whenIdle(graceMs);
    this.settleWaiting((call) => new PoolClosedError(this.name, `it shut down before the call to "${call.tool}" reached a worker`));
    const stopped = await this.fleet.stopAll(killTimeoutMs);
    this.status = 'closed';
    this.logger.log(`closed: stopped ${stopped} worker${stopped === 1 ? '' : 's'}`);
  }

  /** Ends every call that waits for a worker (in the queue, or before a retry). */
  private settleWaiting(errorFor: (call: PendingCall) => SnakepitError): void {
    for (const requestId of this.scheduler.drainQueue()) {
      const call = this.calls.get(requestId);
      if (call) this.settle(call, errorFor(call));
    }
    for (const call of [...this.calls.values()]) if (call.state === 'queued') this.settle(call, errorFor(call));
  }

  // ── calls ──────────────────────────────────────────────────────────────

  private submit(
    kind: PendingCall['kind'],
    tool: string,
    args: Buffer,
    options: ExecuteOptions,
    session: SessionCall | undefined,
    resolve: (value: unknown) => void,
    reject: (error: Error) => void,
    chunks?: ChunkStream,
  ): PendingCall {
    const timeoutMs = options.timeoutMs ?? this.config.requestTimeoutMs;
    const call: PendingCall = {
      kind,
      chunks,
      id: String(++this.requestSeq),
      tool,
      args,
      state: 'queued',
      session,
      idempotent: options.idempotent ?? false,
      attempts: 0,
      arrivedAt: performance.now(),
      span: startCallSpan(kind, this.name, tool),
      resolve,
      reject,
      cleanup: [],
    };
    this.counters.requests++;
    this.calls.set(call.id, call);
    const timer = setTimeout(() => this.giveUp(call, new RequestTimeoutError(tool, timeoutMs)), timeoutMs);
    call.cleanup.push(() => clearTimeout(timer));
    const signal = options.signal;
    if (signal) {
      const onAbort = () => this.giveUp(call, new RequestAbortedError(tool, signal.reason));
      signal.addEventListener('abort', onAbort, { once: true });
      call.cleanup.push(() => signal.removeEventListener('abort', onAbort));
    }
    this.apply(this.scheduler.submit(call.id, session?.placement));
    // queue.timeoutMs bounds the wait for a busy pool; while the pool boots, only the call's own timeout does.
    if (this.tools && this.scheduler.isQueued(call.id)) this.armQueueTimeout(call);
    return call;
  }

  private armQueueTimeout(call: PendingCall): void {
    const waitFrom = Date.now();
    call.queueTimer = setTimeout(
      () => this.giveUp(call, new QueueTimeoutError(this.name, call.tool, Date.now() - waitFrom)),
      this.config.queueTimeoutMs,
    );
  }

  private apply(actions: SchedulerAction[]): void {
    for (const action of actions) {
      const call = this.calls.get(action.requestId);
      if (!call) continue;
      if (action.type === 'reject') {
        this.settle(call, this.refusal(call, action.reason));
      } else {
        this.run(call, this.fleet.find(action.workerId)!);
      }
    }
  }

  /** `snakepit.pool.saturated`, at most once a second however many calls are refused. */
  private announceSaturation(): void {
    const now = Date.now();
    if (now - this.saturatedAt < SATURATION_EVENT_EVERY_MS) return;
    this.saturatedAt = now;
    this.context.emit(SnakepitEvent.PoolSaturated, { pool: this.name, queued: this.scheduler.queued, maxQueueSize: this.config.queueMaxSize });
  }

  private refusal(call: PendingCall, reason: RejectReason): SnakepitError {
    const sessionId = call.session?.sessionId ?? '';
    const workerId = call.session?.placement?.workerId ?? '';
    if (reason === 'worker_busy') return new WorkerBusyError(sessionId, workerId);
    if (reason === 'worker_unavailable') return new SessionWorkerUnavailableError(sessionId, workerId);
    this.counters.rejected++;
    this.announceSaturation();
    return new PoolSaturatedError(this.name, this.config.queueMaxSize, !this.tools);
  }

  private run(call: PendingCall, worker: Worker): void {
    clearTimeout(call.queueTimer);
    try {
      this.assertToolKind(call.tool, call.kind === 'stream');
    } catch (error) {
      call.state = 'done';
      this.settle(call, error as SnakepitError);
      this.release(worker);
      return;
    }
    call.state = 'running';
    call.workerId = worker.id;
    call.dispatchedAt ??= performance.now(); // a retry's execution counts from the first attempt
    call.session?.onDispatch(worker.id);
    if (call.kind === 'stream') return runStream(this.streamPool, call, worker);
    worker
      .execute({ tool: call.tool, argsJson: call.args, requestId: call.id, sessionId: call.session?.sessionId ?? '' }, call.span?.headers)
      .then(
        (reply) => {
          if (call.state === 'running') this.settleWithReply(call, worker, reply);
          call.state = 'done';
          unstick(call, worker);
          this.release(worker);
        },
        (error: SnakepitError) => {
          const wasRunning = call.state === 'running';
          call.state = 'done';
          unstick(call, worker);
          if (wasRunning) this.failRunning(call, error, worker, true);
          // A dead worker is replaced when its exit is seen; any other channel failure: replace it now.
          if (!isWorkerDeath(error)) this.fleet.retire(worker, 'protocol');
        },
      );
  }

  /** A running call's transport failed: retry it elsewhere if it may be, else fail it. */
  private failRunning(call: PendingCall, error: SnakepitError, worker: Worker, retryable: boolean): void {
    if (retryable && this.mayRetry(call, error)) return this.retry(call, error);
    this.settle(call, this.transportFailure(call, error, worker));
  }

  /** Crash barrier: an idempotent call whose worker died goes back to the head of the queue. */
  private mayRetry(call: PendingCall, error: SnakepitError): boolean {
    const barrier = this.config.crashBarrier;
    return barrier.enabled && call.idempotent && isWorkerDeath(error) && call.attempts < barrier.maxRetries && this.accepting;
  }

  private retry(call: PendingCall, error: SnakepitError): void {
    call.attempts++;
    call.state = 'queued';
    call.workerId = undefined;
    this.counters.retries++;
    const delayMs = backoffDelay(this.config.crashBarrier.retryBackoffMs, call.attempts - 1, MAX_RETRY_BACKOFF_MS);
    this.logger.warn(`retrying "${call.tool}" (attempt ${call.attempts} of ${this.config.crashBarrier.maxRetries}) in ${delayMs} ms: ${error.message.split('\n')[0]}`);
    this.context.emit(SnakepitEvent.CallRetried, { pool: this.name, tool: call.tool, attempt: call.attempts, delayMs, code: error.code });
    const timer = setTimeout(() => {
      if (call.state !== 'queued' || !this.calls.has(call.id)) return;
      this.apply(this.scheduler.resubmit(call.id, call.session?.placement));
      if (this.scheduler.isQueued(call.id)) this.armQueueTimeout(call);
    }, delayMs);
    call.cleanup.push(() => clearTimeout(timer));
  }

  private settleWithReply(call: PendingCall, worker: Worker, reply: WireExecuteReply): void {
    let outcome: ReturnType<typeof decodeReply>;
    try {
      outcome = decodeReply(call.tool, reply, call.session?.sessionId);
    } catch (error) {
      outcome = { ok: false, error: new WorkerProtocolError(worker.id, `its reply to "${call.tool}" is unreadable`, { cause: error }) };
      this.fleet.retire(worker, 'protocol'); // a worker that speaks garbage is not trusted with another call
    }
    if (outcome.ok) this.settle(call, undefined, outcome.value);
    else this.settle(call, outcome.error);
  }

  private unknownTool(tool: string): UnknownToolError {
    return new UnknownToolError(tool, [...(this.tools?.keys() ?? [])].sort(), this.name);
  }

  /** The caller stops waiting (timeout or abort). A running call gets `cancelGraceMs` to end
   *  by itself; after that its worker is killed and replaced, so it never stays stuck. */
  private giveUp(call: PendingCall, error: SnakepitError): void {
    if (call.state === 'running' && call.kind === 'stream') {
      const worker = this.fleet.find(call.workerId!);
      this.settle(call, error);
      if (worker) stopRunningStream(this.streamPool, call, worker);
      return;
    }
    if (call.state === 'queued') {
      this.scheduler.withdraw(call.id);
    } else if (call.state === 'running') {
      const worker = this.fleet.find(call.workerId!);
      this.settle(call, error);
      call.state = 'abandoned';
      if (worker) {
        worker.cancel(call.id); // a tool that polls session_context.cancelled can stop early
        const grace = setTimeout(() => {
          if (call.state === 'abandoned') this.retireStuck(call, worker);
        }, this.config.cancelGraceMs);
        grace.unref();
      }
      return;
    } else {
      return;
    }
    this.settle(call, error);
  }

  /**
   * A call kept running after its caller gave up and cancelGraceMs passed: its worker is
   * replaced. When other calls still run on it (thread profile), it is recycled instead, so they
   * finish, and killed as soon as only stuck calls are left on it.
   */
  private retireStuck(call: PendingCall, worker: Worker): void {
    call.stuck = true;
    worker.stuckCalls++;
    this.logger.warn(`worker ${worker.id} still runs "${call.tool}" after the caller gave up; replacing it`);
    if (worker.inFlight > worker.stuckCalls) void this.fleet.recycle(worker, 'stuck').catch(() => undefined);
    else this.fleet.retire(worker, 'stuck');
  }

  /** Ends a call for its caller: with an error, a value, or (`cancelled`) because the caller left. */
  private settle(call: PendingCall, error: Error | undefined, value?: unknown, cancelled = false): void {
    if (!this.calls.delete(call.id)) return;
    clearTimeout(call.queueTimer);
    call.session?.onDone?.();
    for (const undo of call.cleanup) undo();
    if (call.state === 'queued') call.state = 'done';
    this.measure(call, error, cancelled);
    call.span?.end(error);
    if (error) {
      this.counters.errors++;
      if (error instanceof RequestTimeoutError || error instanceof QueueTimeoutError) this.counters.timeouts++;
      if (error instanceof RequestAbortedError) this.counters.aborted++;
      call.reject(error);
    } else {
      if (cancelled) this.counters.cancelled++;
      else this.counters.succeeded++;
      call.resolve(value);
    }
    if (this.calls.size === 0 && this.idleWaiters.length) {
      for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  /** Records the call's queue wait and execution time, and emits how it ended. */
  private measure(call: PendingCall, error: Error | undefined, cancelled: boolean): void {
    const now = performance.now();
    const ran = call.dispatchedAt !== undefined;
    const queueWaitMs = (call.dispatchedAt ?? now) - call.arrivedAt;
    const executionMs = ran ? now - call.dispatchedAt! : 0;
    if (ran) this.metrics.record(call.tool, queueWaitMs, executionMs, !error);
    const event = error ? SnakepitEvent.RequestFailed : SnakepitEvent.RequestFinished;
    if (!this.context.listening(event)) return; // the common case: no payload to build
    const facts = { pool: this.name, tool: call.tool, durationMs: now - call.arrivedAt, queueWaitMs, executionMs, ran, attempts: call.attempts + 1 };
    this.context.emit(event, error ? { ...facts, code: (error as SnakepitError).code ?? 'unknown' } : { ...facts, cancelled });
  }

  /** A call on the worker is over: it takes the next one, unless it is due for recycling. */
  private release(worker: Worker): void {
    if (worker.state !== 'ready' || !this.fleet.find(worker.id)) return;
    if (this.fleet.released(worker)) this.apply(this.scheduler.release(worker.id));
  }

  /** The error a call whose worker died gets: the shutdown or the pool's failure, when that killed it. */
  private transportFailure(call: PendingCall, error: SnakepitError, worker: Worker): SnakepitError {
    if (!isWorkerDeath(error) || worker.stopReason !== 'shutdown') return error;
    if (this.isShuttingDown) return new PoolClosedError(this.name, `it shut down before "${call.tool}" finished (shutdown.graceMs)`);
    return this.failure ?? error;
  }

  /** Starting or ready: workers that leave are replaced. */
  private get accepting(): boolean {
    return this.status === 'starting' || this.status === 'ready';
  }

  private get isShuttingDown(): boolean {
    return this.status === 'closing' || this.status === 'closed';
  }

  private assertOpen(): void {
    if (this.isShuttingDown) throw new PoolClosedError(this.name);
    if (this.failure) throw this.failure;
  }

  private whenIdle(graceMs: number): Promise<void> {
    if (this.calls.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, graceMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  // ── workers ────────────────────────────────────────────────────────────

  /** A worker can take calls; the first one tells the pool its tools. */
  private addWorker(worker: Worker): void {
    if (!this.tools) {
      this.tools = new Map(worker.tools.map((tool) => [tool.name, tool]));
      for (const call of this.calls.values()) if (this.scheduler.isQueued(call.id)) this.armQueueTimeout(call);
    }
    this.apply(this.scheduler.addWorker(worker.id));
  }

  /**
   * The pool cannot serve: it could not start, or its workers keep dying (PoolFailedError). Every
   * worker goes; waiting calls and new ones get the failure until the pool recovers, by itself
   * after restart.cooldownMs or at once on restart().
   */
  private fail(error: Error | PoolFailedError): void {
    if (this.status !== 'starting' && this.status !== 'ready') return;
    this.status = 'failed';
    this.recovering = false;
    const failure = error instanceof SnakepitError ? error : new WorkerStartError(this.name, error.message);
    this.failure = failure;
    this.logger.error(failure.message);
    this.readiness.reject(failure); // callers waiting for the start
    this.readiness = new Readiness(); // later callers, also when the pool had been ready
    this.readiness.reject(failure);
    this.fleet.killAll();
    this.settleWaiting(() => failure);
    this.context.emit(SnakepitEvent.PoolFailed, { pool: this.name, code: failure.code, message: failure.message });
    const { cooldownMs } = this.config.restart;
    this.cooldownTimer = setTimeout(() => {
      this.logger.log(`trying to start again after ${cooldownMs} ms (restart.cooldownMs)`);
      this.restart().catch(() => undefined); // a new failure is logged and starts a new cool-down
    }, cooldownMs);
    this.cooldownTimer.unref();
  }
}
