import { PoolSaturatedError, QueueTimeoutError, SessionWorkerUnavailableError, WorkerBusyError, type SnakepitError } from '../errors';
import type { Call } from './call';
import type { CallBook } from './call-book';
import type { PoolTelemetry } from './pool-telemetry';
import type { ToolCatalog } from './tool-catalog';
import { Scheduler, type RejectReason, type SchedulerAction } from './scheduler';
import type { PoolWorker } from './worker.types';

export interface DispatcherOptions {
  /** Calls one worker runs at once. */
  capacity: number;
  /** Calls a busy worker may hold waiting beyond them. */
  prefetch: number;
  queueMaxSize: number;
  queueTimeoutMs: number;
}

/**
 * Carries out the Scheduler's decisions: a call dispatched to a worker runs (through `run`), a
 * refused one is settled with the refusal. It is also where workers come and go for the
 * scheduler, and where the queue timeout of a ready pool is kept.
 */
export class Dispatcher {
  private readonly scheduler: Scheduler;

  constructor(
    private readonly options: DispatcherOptions,
    private readonly book: CallBook,
    /** Known once a worker was ready: until then the queue timeout does not run, only the call's own. */
    private readonly tools: ToolCatalog,
    private readonly telemetry: PoolTelemetry,
    private readonly workerOf: (workerId: string) => PoolWorker | undefined,
    private readonly run: (call: Call, worker: PoolWorker, ahead: boolean) => void,
  ) {
    this.scheduler = new Scheduler(options.queueMaxSize);
  }

  get queued(): number {
    return this.scheduler.queued;
  }

  get busyWorkers(): number {
    return this.scheduler.busyWorkers;
  }

  /** A new call waits for a worker (or runs at once). */
  submit(call: Call): void {
    this.apply(this.scheduler.submit(call.id, call.session?.placement));
    this.armQueueTimeout(call);
  }

  /** A call comes back, ahead of the queue: its worker died (crash barrier), or it was given
   *  to a worker whose channel had just broken. */
  resubmit(call: Call): void {
    if (call.state !== 'queued') this.book.move(call, 'queued'); // a retry; or a call that never left
    this.apply(this.scheduler.resubmit(call.id, call.session?.placement));
    this.armQueueTimeout(call);
  }

  /** A waiting call leaves the queue; returns whether it was in it. */
  withdraw(call: Call): boolean {
    const after = this.scheduler.withdraw(call.id);
    if (after) this.apply(after);
    return after !== undefined;
  }

  /** Every waiting call leaves the queue (the pool closes or failed). */
  drainQueue(): void {
    this.scheduler.drainQueue();
  }

  expect(workerId: string): void {
    this.scheduler.expectWorker(workerId, this.options.capacity, this.options.prefetch);
  }

  /** A worker can take calls. The first one tells the pool its tools, and the queue timeout starts. */
  add(worker: PoolWorker): void {
    if (!this.tools.known) {
      this.tools.learn(worker.tools);
      for (const call of this.book.waiting()) if (call.state === 'queued') this.armQueueTimeout(call);
    }
    this.apply(this.scheduler.addWorker(worker.id));
  }

  /** A worker takes no more calls; `successor` takes over the calls that wait for it alone. */
  remove(workerId: string, successor?: string): void {
    this.apply(this.scheduler.removeWorker(workerId, successor));
  }

  /** A worker takes no new call, but the calls placed on it keep waiting (it is being recycled). */
  suspend(workerId: string): void {
    this.scheduler.suspend(workerId);
  }

  /** A call on the worker is over: it takes the next one. */
  release(workerId: string): void {
    this.apply(this.scheduler.release(workerId));
  }

  private apply(actions: SchedulerAction[]): void {
    for (const action of actions) {
      const call = this.book.get(action.requestId);
      if (!call) continue;
      if (action.type === 'reject') this.book.settle(call, { error: this.refusal(call, action.reason) });
      else this.run(call, this.workerOf(action.workerId)!, action.ahead === true);
    }
  }

  /** queue.timeoutMs bounds the wait for a busy pool; while the pool boots, only the call's own timeout does. */
  private armQueueTimeout(call: Call): void {
    if (!this.tools.known || !this.scheduler.isQueued(call.id)) return;
    const waitFrom = Date.now();
    clearTimeout(call.queueTimer);
    call.queueTimer = setTimeout(() => {
      if (this.withdraw(call)) this.book.settle(call, { error: new QueueTimeoutError(this.telemetry.pool, call.tool, Date.now() - waitFrom) });
    }, this.options.queueTimeoutMs);
  }

  private refusal(call: Call, reason: RejectReason): SnakepitError {
    const sessionId = call.session?.sessionId ?? '';
    const workerId = call.session?.placement?.workerId ?? '';
    if (reason === 'worker_busy') return new WorkerBusyError(sessionId, workerId);
    if (reason === 'worker_unavailable') return new SessionWorkerUnavailableError(sessionId, workerId);
    this.book.counters.rejected++;
    this.telemetry.saturated(this.scheduler.queued, this.options.queueMaxSize);
    return new PoolSaturatedError(this.telemetry.pool, this.options.queueMaxSize, !this.tools.known);
  }
}
