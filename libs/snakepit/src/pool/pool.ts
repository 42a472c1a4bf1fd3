import { changedByJson } from '../bridge/strict-json';
import { DataPlane, type OutgoingValue } from '../data/data-plane';
import { ValueEncodingError } from '../data/value-encoder';
import {
  PayloadTooLargeError,
  PoolClosedError,
  RequestAbortedError,
  RequestTimeoutError,
  SerializationError,
  type SnakepitError,
} from '../errors';
import type { PoolConfig } from '../options/resolve-options';
import { NO_HOST_ACCESS, type HostAccess } from '../snakepit.constants';
import { startCallSpan } from '../telemetry/tracing';
import { assertValidCall } from './call-validation';
import type { Call, SessionCall } from './call';
import { CallBook } from './call-book';
import { CallRunner } from './call-runner';
import { ChunkStream } from './chunk-stream';
import { Dispatcher } from './dispatcher';
import { PoolLifecycle } from './pool-lifecycle';
import { PoolTelemetry } from './pool-telemetry';
import type { ExecuteOptions, PoolLoad, PoolStats } from './pool.types';
import { SharedValues, type SharedValue, type ShareOptions } from './shared-values';
import { ToolCatalog } from './tool-catalog';
import { WorkerFleet, type FleetContext } from './worker-fleet';
import type { PythonToolInfo, WorkerInfo } from './worker.types';

/** Room for the request's other fields next to the arguments. */
const ENVELOPE_BYTES = 4096;

/**
 * One named pool: its workers, its queue and the calls in flight. Its parts: the CallBook
 * (calls and their accounting), the Dispatcher (the Scheduler's decisions carried out), the
 * CallRunner (calls on workers), the WorkerFleet (processes) and the PoolLifecycle (its phase).
 * The pool itself checks calls, routes give-ups, and moves between phases.
 */
export class Pool {
  private readonly telemetry: PoolTelemetry;
  private readonly lifecycle: PoolLifecycle;
  private readonly book: CallBook;
  private readonly tools: ToolCatalog;
  private readonly dispatcher: Dispatcher;
  private readonly fleet: WorkerFleet;
  private readonly runner: CallRunner;
  /** How this pool's values travel: in messages, or through shared memory. */
  readonly data: DataPlane;
  private readonly shared: SharedValues;
  private host?: Promise<HostAccess>;

  constructor(readonly config: PoolConfig, context: FleetContext) {
    this.telemetry = new PoolTelemetry(config.name, context.events);
    this.data = new DataPlane(context.sharedMemory, config.sharedMemory);
    this.shared = new SharedValues(config.name, this.data, config.sharedMemory.budgetBytes, config.sharedMemory.shareTtlMs);
    this.lifecycle = new PoolLifecycle(this.telemetry, config.restart.cooldownMs, () => {
      this.restart().catch(() => undefined); // a new failure is logged and starts a new cool-down
    });
    this.book = new CallBook(this.telemetry);
    this.tools = new ToolCatalog(config.name, config.validateArguments);
    const capacity = { capacity: config.concurrentCalls, prefetch: config.prefetch, queueMaxSize: config.queueMaxSize, queueTimeoutMs: config.queueTimeoutMs };
    this.dispatcher = new Dispatcher(capacity, this.book, this.tools, this.telemetry, (id) => this.fleet.find(id), (call, worker, ahead) => this.runner.run(call, worker, ahead));
    this.fleet = new WorkerFleet(config, context, this.dispatcher, this.book, this.data, (error) => this.fail(error));
    this.runner = new CallRunner(config, this.book, this.dispatcher, this.fleet, this.tools, this.lifecycle, this.telemetry, this.data);
  }

  get name(): string {
    return this.config.name;
  }

  /**
   * Starts every worker, `startupConcurrency` at a time, once `host` (how workers reach the
   * host bridge) is known. Resolves when all are ready.
   */
  async start(host: Promise<HostAccess>): Promise<void> {
    this.host = host;
    try {
      const access = await host;
      if (this.lifecycle.status !== 'starting') return; // closed while the host got ready
      await this.fleet.startAll(access);
    } catch (error) {
      this.fail(error as Error);
      throw error;
    }
    this.lifecycle.toReady(this.fleet.workers.size, this.config.adapter);
  }

  /** Resolves when the pool can serve; rejects if it failed (to start, or later). */
  ready(): Promise<void> {
    return this.lifecycle.ready();
  }

  /**
   * A failed pool starts again now (without waiting for restart.cooldownMs); a running pool
   * recycles every worker. Resolves when the pool is ready.
   */
  async restart(): Promise<void> {
    if (this.lifecycle.shuttingDown) throw new PoolClosedError(this.name);
    if (this.lifecycle.toStarting()) {
      // The outcome is the pool's: ready, failed again, or closed meanwhile.
      await this.start(this.host ?? Promise.resolve(NO_HOST_ACCESS)).catch(() => undefined);
      return this.ready();
    }
    if (this.lifecycle.status === 'ready') await Promise.all([...this.fleet.workers.keys()].map((id) => this.recycle(id)));
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
    return new Promise((resolve, reject) => this.submit('unary', tool, payload, options, session, resolve, reject, undefined, args));
  }

  /** Runs a streaming tool; its chunks arrive through the returned iterator, with back-pressure. */
  executeStream(tool: string, args: unknown, options: ExecuteOptions = {}, session?: SessionCall): ChunkStream {
    let payload: OutgoingValue;
    try {
      payload = this.prepare(tool, args, options, true);
    } catch (error) {
      return ChunkStream.failed(error as Error);
    }
    const chunks = new ChunkStream(this.config.streamIdleTimeoutMs);
    // Until a worker takes it (and attaches its own control), a dropped stream just leaves the queue.
    let call: Call | undefined;
    chunks.attach({
      pause: () => undefined,
      resume: () => undefined,
      cancel: () => {
        if (call?.state === 'queued' && this.dispatcher.withdraw(call)) this.book.settle(call, { value: undefined, cancelled: true });
      },
    });
    call = this.submit('stream', tool, payload, options, session, () => undefined, (error) => chunks.fail(error), chunks, args);
    return chunks;
  }

  /** Checks a call before it queues; returns its arguments as they travel. */
  private prepare(tool: string, args: unknown, options: ExecuteOptions, streaming: boolean): OutgoingValue {
    assertValidCall(tool, options);
    this.lifecycle.assertOpen();
    // Before any worker is ready the tool list is unknown: the check then happens at dispatch.
    this.tools.assertKind(tool, streaming);
    if (options.signal?.aborted) throw new RequestAbortedError(tool, options.signal.reason);
    if (this.checksArguments(options)) this.tools.assertArguments(tool, args);
    const payload = this.encodeArgs(tool, args);
    if (payload.messageBytes + ENVELOPE_BYTES > this.config.maxMessageBytes) {
      this.data.release(payload.segments);
      throw new PayloadTooLargeError(
        'arguments',
        tool,
        `${payload.messageBytes} bytes in the message; the limit is ${this.config.maxMessageBytes} bytes, and buffers of ` +
          `${this.config.sharedMemory.thresholdBytes} bytes and more go through shared memory instead`,
      );
    }
    return payload;
  }

  /** Whether the call's arguments are checked against its tool's schema (ToolArgumentsError). */
  private checksArguments(options: ExecuteOptions): boolean {
    return options.validateArguments ?? this.config.validateArguments;
  }

  /** The arguments (an object of keyword arguments) in the value model. */
  private encodeArgs(tool: string, args: unknown): OutgoingValue {
    if (args !== undefined && args !== null && (typeof args !== 'object' || Array.isArray(args) || changedByJson(args))) {
      throw new SerializationError('arguments', tool, 'arguments must be an object of keyword arguments');
    }
    try {
      return this.data.outgoing(args ?? {}, 'args');
    } catch (error) {
      if (error instanceof ValueEncodingError) throw new SerializationError('arguments', tool, error.message, error.path);
      throw error; // SharedMemoryError, or what a toJSON() of the caller's threw
    }
  }

  /** Writes `value` to shared memory once, for many calls: pass the returned SharedValue inside
   *  arguments instead of the data (see SharedValue). */
  share(value: unknown, options?: ShareOptions): SharedValue {
    this.lifecycle.assertOpen();
    return this.shared.share(value, options);
  }

  /** Python tools of this pool's adapter (known once a worker is ready). */
  listTools(): PythonToolInfo[] {
    return this.tools.list();
  }

  /** How busy the pool is now: calls it runs at once with its ready workers, and calls open. */
  load(): PoolLoad {
    let ready = 0;
    for (const worker of this.fleet.workers.values()) if (worker.serving) ready++;
    return { capacity: ready * this.config.concurrentCalls, ahead: ready * this.config.prefetch, workers: ready, inFlight: this.book.size, status: this.lifecycle.status };
  }

  stats(): PoolStats {
    const workers = { total: this.fleet.workers.size, starting: 0, ready: 0, stopping: 0 };
    for (const worker of this.fleet.workers.values()) {
      if (worker.state === 'starting') workers.starting++;
      else if (worker.serving) workers.ready++;
      else if (worker.state === 'stopping') workers.stopping++;
    }
    const { crashes, restarts, recycled, unresponsive } = this.fleet.counters;
    return {
      pool: this.name,
      status: this.lifecycle.status,
      workers,
      busy: this.dispatcher.busyWorkers,
      queued: this.dispatcher.queued,
      ...this.book.counters,
      crashes,
      unresponsive,
      restarts,
      recycled,
      latency: this.telemetry.metrics.latency(),
      tools: this.telemetry.metrics.byTool(),
      poisonTools: this.fleet.poisonTools(),
      sharedMemory: { ...this.shared.stats(), ...this.sharedMemoryPlace() },
    };
  }

  /** Where this pool's large buffers go, for stats(); nothing when they stay inside messages. */
  private sharedMemoryPlace(): { directory?: string; thresholdBytes?: number } {
    const threshold = this.config.sharedMemory.thresholdBytes;
    return Number.isFinite(threshold) ? { directory: this.data.directory, thresholdBytes: threshold } : {};
  }

  listWorkers(): WorkerInfo[] {
    return [...this.fleet.workers.values()].map((worker) => worker.info(this.book.load(worker.id).inFlight));
  }

  /**
   * Stops taking work, lets queued and running calls finish for up to `graceMs`, fails what is
   * left with PoolClosedError, then stops every worker (SIGTERM, SIGKILL after `killTimeoutMs`).
   */
  close(graceMs: number, killTimeoutMs: number): Promise<void> {
    const under = this.lifecycle.closed;
    if (under) return under;
    let finish!: (outcome: Promise<void>) => void;
    const closed = new Promise<void>((resolve) => (finish = resolve));
    this.lifecycle.toClosing(closed);
    finish(this.shutDown(graceMs, killTimeoutMs));
    return closed;
  }

  private async shutDown(graceMs: number, killTimeoutMs: number): Promise<void> {
    await this.book.whenIdle(graceMs);
    this.settleWaiting((call) => new PoolClosedError(this.name, `it shut down before the call to "${call.tool}" reached a worker`));
    const stopped = await this.fleet.stopAll(killTimeoutMs);
    this.shared.closeAll();
    this.lifecycle.toClosed(stopped);
  }

  // ── calls ──────────────────────────────────────────────────────────────

  private submit(
    kind: Call['kind'],
    tool: string,
    args: OutgoingValue,
    options: ExecuteOptions,
    session: SessionCall | undefined,
    resolve: (value: unknown) => void,
    reject: (error: Error) => void,
    chunks?: ChunkStream,
    rawArgs?: unknown,
  ): Call {
    const timeoutMs = options.timeoutMs ?? this.config.requestTimeoutMs;
    // Held from here: what the arguments put in shared memory goes with the call, whatever happens.
    const letGo = this.data.hold(args);
    let call: Call;
    try {
      call = this.book.accept({
        kind,
        tool,
        args: args.value,
        session,
        chunks,
        idempotent: options.idempotent ?? false,
        // Before any worker is ready the schemas are unknown: the arguments are checked at dispatch.
        uncheckedArgs: !this.tools.known && this.checksArguments(options) ? (rawArgs ?? {}) : undefined,
        span: startCallSpan(kind, this.name, tool),
        resolve,
        reject,
      });
    } catch (error) {
      letGo();
      throw error;
    }
    call.cleanup.push(letGo);
    const timer = setTimeout(() => this.giveUp(call, new RequestTimeoutError(tool, timeoutMs)), timeoutMs);
    call.cleanup.push(() => clearTimeout(timer));
    const signal = options.signal;
    if (signal) {
      const onAbort = () => this.giveUp(call, new RequestAbortedError(tool, signal.reason));
      signal.addEventListener('abort', onAbort, { once: true });
      call.cleanup.push(() => signal.removeEventListener('abort', onAbort));
    }
    this.dispatcher.submit(call);
    return call;
  }

  /** The caller stops waiting (timeout or abort): a waiting call just ends; a running one is
   *  abandoned on its worker (see CallRunner.abandon). */
  private giveUp(call: Call, error: SnakepitError): void {
    if (call.state === 'queued') this.dispatcher.withdraw(call);
    if (call.state === 'queued' || call.state === 'backoff') this.book.settle(call, { error });
    else if (call.state === 'running') this.runner.abandon(call, error);
  }

  /** Ends every call that waits for a worker (in the queue, or before a retry). */
  private settleWaiting(errorFor: (call: Call) => SnakepitError): void {
    this.dispatcher.drainQueue();
    for (const call of this.book.waiting()) this.book.settle(call, { error: errorFor(call) });
  }

  /**
   * The pool cannot serve: it could not start, or its workers keep dying (PoolFailedError). Every
   * worker goes; waiting calls and new ones get the failure until the pool recovers, by itself
   * after restart.cooldownMs or at once on restart().
   */
  private fail(error: Error): void {
    this.lifecycle.toFailed(error, (failure) => {
      this.fleet.killAll();
      this.settleWaiting(() => failure);
    });
  }
}
