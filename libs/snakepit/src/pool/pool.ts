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
  describeExit,
} from '../errors';
import type { PoolConfig } from '../options/resolve-options';
import { bridgePaths } from '../python/bridge-paths';
import type { PendingCall, SessionCall } from './pending-call';
import type { ExecuteOptions, PoolStats, PoolStatus } from './pool.types';
import { assertValidCall } from './call-validation';
import { Scheduler, type RejectReason, type SchedulerAction } from './scheduler';
import { runStream, stopRunningStream, type StreamPool } from './stream-run';
import { Worker, type PythonToolInfo, type WorkerInfo } from './worker';

/** Room for the request's other fields next to the arguments. */
const ENVELOPE_BYTES = 4096;
const RESTART_BACKOFF_MS = { first: 250, max: 30_000 };

type Counters = Pick<
  PoolStats,
  'requests' | 'succeeded' | 'errors' | 'timeouts' | 'aborted' | 'cancelled' | 'rejected' | 'crashes' | 'restarts'
>;

/**
 * One named pool: its workers, its queue and the calls in flight. The Scheduler decides;
 * the pool carries the decisions out and keeps the promises it gave callers.
 */
export class Pool {
  private readonly workers = new Map<string, Worker>();
  private readonly scheduler: Scheduler;
  private readonly calls = new Map<string, PendingCall>();
  private readonly logger: Logger;
  private readonly readyPromise: Promise<void>;
  private markReady!: () => void;
  private markFailed!: (error: Error) => void;
  private status: PoolStatus = 'starting';
  private tools?: Map<string, PythonToolInfo>;
  private startError?: SnakepitError;
  private hostEnv: Record<string, string> = {};
  /** What the stream path (stream-run.ts) may do to this pool. */
  private readonly streamPool: StreamPool;
  private workerSeq = 0;
  private requestSeq = 0;
  private restartAttempts = 0;
  private restartTimers = new Set<NodeJS.Timeout>();
  private idleWaiters: Array<() => void> = [];
  private readonly counters: Counters = {
    requests: 0, succeeded: 0, errors: 0, timeouts: 0, aborted: 0, cancelled: 0, rejected: 0, crashes: 0, restarts: 0,
  };

  constructor(readonly config: PoolConfig, private readonly runId: string) {
    this.scheduler = new Scheduler(config.queueMaxSize);
    this.streamPool = {
      cancelGraceMs: config.cancelGraceMs,
      settle: (call, error, value, cancelled) => this.settle(call, error, value, cancelled),
      fail: (call, error) => this.settle(call, this.isShuttingDown ? this.closedDuring(call, error) : error),
      release: (worker) => this.release(worker),
      retire: (worker) => this.retire(worker),
      warn: (message) => this.logger.warn(message),
    };
    this.logger = new Logger(`Snakepit:${config.name}`);
    this.readyPromise = new Promise<void>((resolve, reject) => {
      this.markReady = resolve;
      this.markFailed = reject;
    });
    this.readyPromise.catch(() => undefined);
  }

  get name(): string {
    return this.config.name;
  }

  /**
   * Starts every worker, `startupConcurrency` at a time, once `hostEnv` (how workers reach the
   * host bridge) is known. Resolves when all are ready.
   */
  async start(hostEnv: Promise<Record<string, string>>): Promise<void> {
    try {
      this.hostEnv = await hostEnv;
    } catch (error) {
      this.fail(error as Error);
      throw error;
    }
    const pending = Array.from({ length: this.config.poolSize }, () => () => this.startWorker());
    const runners = Array.from({ length: Math.min(this.config.startupConcurrency, pending.length) }, async () => {
      for (let next = pending.shift(); next && this.status === 'starting'; next = pending.shift()) await next();
    });
    try {
      await Promise.all(runners);
    } catch (error) {
      this.fail(error as Error);
      throw error;
    }
    if (this.status !== 'starting') return;
    this.status = 'ready';
    this.logger.log(`ready: ${this.workers.size} workers of ${this.config.adapter}`);
    this.markReady();
  }

  /** Resolves when the pool can serve; rejects if it failed to start. */
  ready(): Promise<void> {
    return this.readyPromise;
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
    const workers = { total: this.workers.size, starting: 0, ready: 0, stopping: 0 };
    for (const worker of this.workers.values()) {
      if (worker.state === 'starting') workers.starting++;
      else if (worker.state === 'ready') workers.ready++;
      else if (worker.state === 'stopping') workers.stopping++;
    }
    return {
      pool: this.name,
      status: this.status,
      workers,
      busy: this.scheduler.busyWorkers,
      queued: this.scheduler.queued,
      ...this.counters,
    };
  }

  listWorkers(): WorkerInfo[] {
    return [...this.workers.values()].map((worker) => worker.info());
  }

  /**
   * Stops taking work, lets queued and running calls finish for up to `graceMs`, fails what is
   * left with PoolClosedError, then stops every worker (SIGTERM, SIGKILL after `killTimeoutMs`).
   */
  async close(graceMs: number, killTimeoutMs: number): Promise<void> {
    if (this.isShuttingDown) return;
    const wasStarting = this.status === 'starting';
    this.status = 'closing';
    if (wasStarting) this.markFailed(new PoolClosedError(this.name, 'it was closed before it was ready'));
    for (const timer of this.restartTimers) clearTimeout(timer);
    this.restartTimers.clear();
    await this.whenIdle(graceMs);
    for (const requestId of this.scheduler.drainQueue()) {
      const call = this.calls.get(requestId);
      if (call) this.settle(call, new PoolClosedError(this.name, `it shut down before the call to "${call.tool}" reached a worker`));
    }
    const stopping = [...this.workers.values()];
    await Promise.all(stopping.map((worker) => worker.stop(killTimeoutMs)));
    this.status = 'closed';
    this.logger.log(`closed: stopped ${stopping.length} worker${stopping.length === 1 ? '' : 's'}`);
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
        this.run(call, this.workers.get(action.workerId)!);
      }
    }
  }

  private refusal(call: PendingCall, reason: RejectReason): SnakepitError {
    const sessionId = call.session?.sessionId ?? '';
    const workerId = call.session?.placement?.workerId ?? '';
    if (reason === 'worker_busy') return new WorkerBusyError(sessionId, workerId);
    if (reason === 'worker_unavailable') return new SessionWorkerUnavailableError(sessionId, workerId);
    this.counters.rejected++;
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
    call.session?.onDispatch(worker.id);
    if (call.kind === 'stream') return runStream(this.streamPool, call, worker);
    worker
      .execute({ tool: call.tool, argsJson: call.args, requestId: call.id, sessionId: call.session?.sessionId ?? '' })
      .then(
        (reply) => {
          if (call.state === 'running') this.settleWithReply(call, worker, reply);
          call.state = 'done';
          this.release(worker);
        },
        (error: SnakepitError) => {
          if (call.state === 'running') this.settle(call, this.isShuttingDown ? this.closedDuring(call, error) : error);
          call.state = 'done';
          // A crashed worker is replaced when its exit is seen; any other channel failure: replace it now.
          if (!(error instanceof WorkerCrashError)) this.retire(worker);
        },
      );
  }

  private settleWithReply(call: PendingCall, worker: Worker, reply: WireExecuteReply): void {
    let outcome: ReturnType<typeof decodeReply>;
    try {
      outcome = decodeReply(call.tool, reply, call.session?.sessionId);
    } catch (error) {
      outcome = { ok: false, error: new WorkerProtocolError(worker.id, `its reply to "${call.tool}" is unreadable`, { cause: error }) };
      this.retire(worker); // a worker that speaks garbage is not trusted with another call
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
      const worker = this.workers.get(call.workerId!);
      this.settle(call, error);
      if (worker) stopRunningStream(this.streamPool, call, worker);
      return;
    }
    if (call.state === 'queued') {
      this.scheduler.withdraw(call.id);
    } else if (call.state === 'running') {
      const worker = this.workers.get(call.workerId!);
      this.settle(call, error);
      call.state = 'abandoned';
      if (worker) {
        worker.cancel(call.id); // a tool that polls session_context.cancelled can stop early
        const grace = setTimeout(() => {
          if (call.state !== 'abandoned') return;
          this.logger.warn(`worker ${worker.id} still runs "${call.tool}" after the caller gave up; replacing it`);
          this.retire(worker);
        }, this.config.cancelGraceMs);
        grace.unref();
      }
      return;
    } else {
      return;
    }
    this.settle(call, error);
  }

  /** Ends a call for its caller: with an error, a value, or (`cancelled`) because the caller left. */
  private settle(call: PendingCall, error: Error | undefined, value?: unknown, cancelled = false): void {
    if (!this.calls.delete(call.id)) return;
    clearTimeout(call.queueTimer);
    call.session?.onDone?.();
    for (const undo of call.cleanup) undo();
    if (call.state === 'queued') call.state = 'done';
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

  private release(worker: Worker): void {
    if (worker.state === 'ready' && this.workers.has(worker.id)) this.apply(this.scheduler.release(worker.id));
  }

  private closedDuring(call: PendingCall, error: SnakepitError): SnakepitError {
    return error instanceof WorkerCrashError
      ? new PoolClosedError(this.name, `it shut down before "${call.tool}" finished (shutdown.graceMs)`)
      : error;
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
    if (this.startError) throw this.startError;
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

  private async startWorker(): Promise<void> {
    const id = `${this.name}-${++this.workerSeq}`;
    const logger = new Logger(`Snakepit:${id}`);
    const worker = new Worker(id, this.name, {
      runId: this.runId,
      executable: this.config.pythonExecutable,
      adapter: this.config.adapter,
      pythonPath: [bridgePaths().pythonDir, ...this.config.pythonPath],
      env: { ...this.config.env, ...this.hostEnv },
      maxMessageBytes: this.config.maxMessageBytes,
      startupTimeoutMs: this.config.startupTimeoutMs,
      onOutput: (line, stream) => this.logOutput(logger, line, stream),
    });
    this.workers.set(worker.id, worker);
    try {
      await worker.start();
    } catch (error) {
      this.workers.delete(worker.id);
      throw error;
    }
    if (!this.accepting) {
      this.workers.delete(worker.id);
      worker.kill();
      return;
    }
    void worker.exited.then((exit) => this.onWorkerExit(worker, describeExit(exit)));
    if (!this.tools) {
      this.tools = new Map(worker.tools.map((tool) => [tool.name, tool]));
      for (const call of this.calls.values()) if (this.scheduler.isQueued(call.id)) this.armQueueTimeout(call);
    }
    this.apply(this.scheduler.addWorker(worker.id));
  }

  /** Kills a worker the pool gives up on; it gets no more calls from now, not from its exit. */
  private retire(worker: Worker): void {
    this.apply(this.scheduler.removeWorker(worker.id));
    worker.kill();
  }

  private onWorkerExit(worker: Worker, how: string): void {
    this.apply(this.scheduler.removeWorker(worker.id));
    this.workers.delete(worker.id);
    if (!this.accepting) return;
    if (worker.stopRequested) {
      this.logger.log(`worker ${worker.id} (pid ${worker.pid}) ${how} after it was stopped; replacing it`);
    } else {
      this.counters.crashes++;
      this.logger.warn(`worker ${worker.id} (pid ${worker.pid}) ${how}; replacing it`);
    }
    this.scheduleReplacement(0);
  }

  private scheduleReplacement(delayMs: number): void {
    const timer = setTimeout(() => {
      this.restartTimers.delete(timer);
      this.startWorker().then(
        () => {
          this.counters.restarts++;
          this.restartAttempts = 0;
        },
        (error: Error) => {
          if (!this.accepting) return;
          const backoff = Math.min(RESTART_BACKOFF_MS.max, RESTART_BACKOFF_MS.first * 2 ** this.restartAttempts++);
          this.logger.error(`could not start a replacement worker (retrying in ${backoff} ms): ${error.message}`);
          this.scheduleReplacement(backoff);
        },
      );
    }, delayMs);
    this.restartTimers.add(timer);
  }

  /** The pool could not start: every worker goes, every waiting call and every new one gets the start error. */
  private fail(error: Error): void {
    if (this.status !== 'starting') return;
    this.status = 'failed';
    this.startError = error instanceof SnakepitError ? error : new WorkerStartError(this.name, error.message);
    this.logger.error(error.message);
    this.markFailed(this.startError);
    const refused: string[] = [];
    for (const worker of this.workers.values()) {
      refused.push(...this.scheduler.removeWorker(worker.id).map((action) => action.requestId));
      worker.kill();
    }
    for (const requestId of [...refused, ...this.scheduler.drainQueue()]) {
      const call = this.calls.get(requestId);
      if (call) this.settle(call, this.startError);
    }
  }

  private logOutput(logger: Logger, line: string, stream: string): void {
    const level = /^\[snakepit_bridge [^\]]*\] (DEBUG|INFO|WARNING|ERROR|CRITICAL) /.exec(line)?.[1];
    if (level === 'DEBUG') logger.debug(line);
    else if (level === 'INFO' || (!level && stream === 'stdout')) logger.log(line);
    else if (level === 'WARNING' || !level) logger.warn(line);
    else logger.error(line);
  }
}
