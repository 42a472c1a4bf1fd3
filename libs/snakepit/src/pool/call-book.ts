import { randomUUID } from 'node:crypto';
import { QueueTimeoutError, RequestAbortedError, RequestTimeoutError, type SnakepitError } from '../errors';
import type { PoolStats } from './pool.types';
import { Call, ON_WORKER, type CallInit, type CallState } from './call';
import type { PoolTelemetry } from './pool-telemetry';

type Counters = Pick<PoolStats, 'requests' | 'succeeded' | 'errors' | 'timeouts' | 'aborted' | 'cancelled' | 'rejected' | 'retries'>;

/** How a call ended for its caller. */
export type Outcome = { error: Error } | { value: unknown; cancelled?: boolean };

/**
 * The calls of one pool: those whose callers wait (accepted, not settled) and those still on a
 * worker. It is the one place that knows how many calls run on each worker, settles calls for
 * their callers, and counts them.
 */
export class CallBook {
  readonly counters: Counters = { requests: 0, succeeded: 0, errors: 0, timeouts: 0, aborted: 0, cancelled: 0, rejected: 0, retries: 0 };
  /** Calls whose caller waits for an answer. */
  private readonly open = new Map<string, Call>();
  /** Calls on each worker (running, abandoned or stuck). */
  private readonly byWorker = new Map<string, Set<Call>>();
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly telemetry: PoolTelemetry) {}

  /** A new call, counted and open until settled. */
  accept(init: Omit<CallInit, 'id'>): Call {
    const call = new Call({ ...init, id: randomUUID() }); // unguessable: a request id is what a Cancel names
    this.counters.requests++;
    this.open.set(call.id, call);
    return call;
  }

  get(id: string): Call | undefined {
    return this.open.get(id);
  }

  isOpen(call: Call): boolean {
    return this.open.has(call.id);
  }

  /** Calls whose callers wait. */
  get size(): number {
    return this.open.size;
  }

  /** Calls that wait for a worker: in the queue, or before a retry. */
  waiting(): Call[] {
    return [...this.open.values()].filter((call) => call.state === 'queued' || call.state === 'backoff');
  }

  /** Moves a call to `next`, on `workerId` when it starts running, keeping the index by worker. */
  move(call: Call, next: CallState, workerId?: string): void {
    const before = call.workerId;
    call.enter(next);
    if (next === 'running') call.workerId = workerId;
    else if (!ON_WORKER.has(next)) call.workerId = undefined;
    if (next === 'done') clearTimeout(call.graceTimer);
    if (before !== undefined && before !== call.workerId) this.byWorker.get(before)?.delete(call);
    if (call.workerId !== undefined) {
      let calls = this.byWorker.get(call.workerId);
      if (!calls) this.byWorker.set(call.workerId, (calls = new Set()));
      calls.add(call);
    }
    if (before !== undefined && this.byWorker.get(before)?.size === 0) this.byWorker.delete(before);
  }

  /** The tools of the calls running on the worker now (not those sent ahead that wait there). */
  toolsOn(workerId: string): string[] {
    return [...(this.byWorker.get(workerId) ?? [])].filter((call) => !call.awaitingStart).map((call) => call.tool);
  }

  /** How many calls are on the worker, how many of them are stuck, and how many run (not sent
   *  ahead and waiting there). */
  load(workerId: string): { inFlight: number; stuck: number; running: number } {
    const calls = this.byWorker.get(workerId);
    let stuck = 0;
    let waiting = 0;
    for (const call of calls ?? []) {
      // A call that waits, sent ahead, holds up no worker: it is neither running nor stuck.
      if (call.awaitingStart) waiting++;
      else if (call.state === 'stuck') stuck++;
    }
    const inFlight = calls?.size ?? 0;
    return { inFlight, stuck, running: inFlight - waiting };
  }

  /**
   * Ends a call for its caller (once; later settles are ignored): with an error, or a value
   * (`cancelled`: a stream whose consumer left). A call that never reached a worker is done.
   */
  settle(call: Call, outcome: Outcome): void {
    if (!this.open.delete(call.id)) return;
    clearTimeout(call.queueTimer);
    call.session?.onDone?.();
    for (const undo of call.cleanup) undo();
    if (call.state === 'queued' || call.state === 'backoff') this.move(call, 'done');
    const error = 'error' in outcome ? outcome.error : undefined;
    const cancelled = 'error' in outcome ? false : outcome.cancelled === true;
    this.telemetry.callEnded(call, error as SnakepitError | undefined, cancelled);
    call.span?.end(error);
    if (error) {
      this.counters.errors++;
      if (error instanceof RequestTimeoutError || error instanceof QueueTimeoutError) this.counters.timeouts++;
      if (error instanceof RequestAbortedError) this.counters.aborted++;
      call.reject(error);
    } else {
      if (cancelled) this.counters.cancelled++;
      else this.counters.succeeded++;
      call.resolve((outcome as { value: unknown }).value);
    }
    if (this.open.size === 0 && this.idleWaiters.length) {
      for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  /** Resolves when no caller waits any more, or after `graceMs`. */
  whenIdle(graceMs: number): Promise<void> {
    if (this.open.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, graceMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
