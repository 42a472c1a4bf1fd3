import type { AffinityMode } from '../options/snakepit-options.interface';

/** Why a call is refused: the queue is full, or its session's worker is busy (strictFailFast) or gone (strict modes). */
export type RejectReason = 'saturated' | 'worker_busy' | 'worker_unavailable';

export type SchedulerAction =
  /** `ahead`: sent to a busy worker, to wait there behind the calls it runs (prefetch). */
  | { type: 'dispatch'; requestId: string; workerId: string; ahead?: true }
  | { type: 'reject'; requestId: string; reason: RejectReason };

/** Where a session's call should run: `hint` prefers the worker, the strict modes require it. */
export interface Placement {
  workerId: string;
  mode: AffinityMode;
}

interface WorkerSlot {
  capacity: number;
  /** Calls it may hold waiting beyond `capacity`, sent ahead when no worker is free. */
  prefetch: number;
  inUse: number;
  /** False while the worker is expected (starting, tainted): strict calls may wait for it. */
  ready: boolean;
}

/**
 * The pool's decision-maker, as pure data: which call goes to which worker, who waits,
 * who is refused. It keeps no timers and touches no I/O; every method takes an event and
 * returns the actions the pool must carry out, so it can be tested exhaustively.
 *
 * Rules: calls are served FIFO within their constraints; a call goes to the worker that has
 * been free longest (or to its session's worker, see Placement); a worker takes at most
 * `capacity` calls at once; when no worker is free, a call not bound to a session's worker
 * may be sent ahead to the least loaded worker with `prefetch` room, to wait there; else it
 * waits in the queue, up to `maxQueueSize` calls, and beyond that calls are refused. Its slot counts are its own
 * admission bookkeeping; how many calls physically run on a worker is the CallBook's.
 */
export class Scheduler {
  private readonly workers = new Map<string, WorkerSlot>();
  /** Workers with a free slot, longest-free first (a Set keeps insertion order). */
  private readonly available = new Set<string>();
  /** Waiting calls in arrival order, with where they may run. */
  private readonly queue = new Map<string, Placement | undefined>();

  constructor(private readonly maxQueueSize: number) {}

  get queued(): number {
    return this.queue.size;
  }

  get busyWorkers(): number {
    let busy = 0;
    for (const slot of this.workers.values()) if (slot.inUse > 0) busy++;
    return busy;
  }

  /** Calls running on the worker now (0 for an unknown worker). */
  inUse(workerId: string): number {
    return this.workers.get(workerId)?.inUse ?? 0;
  }

  isQueued(requestId: string): boolean {
    return this.queue.has(requestId);
  }

  /** A call arrives, optionally placed on a session's worker. */
  submit(requestId: string, placement?: Placement): SchedulerAction[] {
    const refusal = this.placementRefusal(requestId, placement);
    if (refusal) return [refusal];
    this.queue.set(requestId, placement);
    const actions = this.drain();
    if (this.queue.has(requestId) && this.queue.size > this.maxQueueSize) {
      this.queue.delete(requestId);
      actions.push({ type: 'reject', requestId, reason: 'saturated' });
    }
    return actions;
  }

  /** A call that was already admitted comes back (its worker died and it is retried): it goes
   *  to the head of the queue, since it arrived before everything waiting there. */
  resubmit(requestId: string, placement?: Placement): SchedulerAction[] {
    const refusal = this.placementRefusal(requestId, placement);
    if (refusal) return [refusal];
    const rest = [...this.queue];
    this.queue.clear();
    this.queue.set(requestId, placement);
    for (const [id, entry] of rest) this.queue.set(id, entry);
    return this.drain();
  }

  private placementRefusal(requestId: string, placement: Placement | undefined): SchedulerAction | undefined {
    if (!placement || placement.mode === 'hint') return undefined;
    if (!this.workers.has(placement.workerId)) return { type: 'reject', requestId, reason: 'worker_unavailable' };
    if (placement.mode === 'strictFailFast' && !this.available.has(placement.workerId)) {
      return { type: 'reject', requestId, reason: 'worker_busy' };
    }
    return undefined;
  }

  /** A worker is on its way (starting, or tainted for a while): it takes no call yet, but calls
   *  placed on it strictly wait for it instead of being refused. */
  expectWorker(workerId: string, capacity = 1, prefetch = 0): void {
    if (this.workers.has(workerId)) throw new Error(`worker ${workerId} is already scheduled`);
    this.workers.set(workerId, { capacity, prefetch, inUse: 0, ready: false });
  }

  /** A worker became ready to take calls (expected before, or not). */
  addWorker(workerId: string, capacity = 1, prefetch = 0): SchedulerAction[] {
    const expected = this.workers.get(workerId);
    if (expected?.ready) throw new Error(`worker ${workerId} is already scheduled`);
    this.workers.set(workerId, { capacity: expected?.capacity ?? capacity, prefetch: expected?.prefetch ?? prefetch, inUse: 0, ready: true });
    this.available.add(workerId);
    return this.drain();
  }

  /** A worker finished one call and can take another. */
  release(workerId: string): SchedulerAction[] {
    const slot = this.workers.get(workerId);
    if (!slot || slot.inUse === 0) return [];
    slot.inUse--;
    if (!slot.ready) return [];
    if (slot.inUse < slot.capacity) this.available.add(workerId);
    return this.drain();
  }

  /** A worker takes no new call, but calls placed on it strictly keep waiting for it (it is
   *  being recycled: removeWorker with a successor follows). */
  suspend(workerId: string): void {
    const slot = this.workers.get(workerId);
    if (!slot) return;
    slot.ready = false;
    this.available.delete(workerId);
  }

  /**
   * A worker left (died, killed, recycled): it gets no more calls. Calls waiting for it alone
   * follow its `successor` (an expected or ready worker that takes over its sessions, as when
   * it is recycled), or are refused when there is none.
   */
  removeWorker(workerId: string, successor?: string): SchedulerAction[] {
    this.workers.delete(workerId);
    this.available.delete(workerId);
    const heir = successor !== undefined && this.workers.has(successor) ? successor : undefined;
    const actions: SchedulerAction[] = [];
    for (const [requestId, placement] of this.queue) {
      if (!placement || placement.workerId !== workerId) continue;
      if (heir !== undefined) {
        this.queue.set(requestId, { ...placement, workerId: heir });
      } else if (placement.mode !== 'hint') {
        this.queue.delete(requestId);
        actions.push({ type: 'reject', requestId, reason: 'worker_unavailable' });
      }
    }
    return heir !== undefined ? [...actions, ...this.drain()] : actions;
  }

  /** A waiting call gave up (timeout, abort). Returns undefined when it was no longer waiting;
   *  else what follows (a call that waited behind it strictly may now be sent ahead). */
  withdraw(requestId: string): SchedulerAction[] | undefined {
    if (!this.queue.delete(requestId)) return undefined;
    return this.drain();
  }

  /** Removes every waiting call and returns their ids, oldest first. */
  drainQueue(): string[] {
    const ids = [...this.queue.keys()];
    this.queue.clear();
    return ids;
  }

  /** Hands waiting calls, oldest first, to workers that can take them. */
  private drain(): SchedulerAction[] {
    const actions: SchedulerAction[] = [];
    // Workers that earlier calls wait for strictly: nothing is sent ahead of those calls to them.
    const awaited = new Set<string>();
    for (const [requestId, placement] of this.queue) {
      const ahead = this.available.size === 0 ? this.roomAhead(awaited) : undefined;
      if (this.available.size === 0 && ahead === undefined) break;
      const workerId = this.pick(placement, ahead);
      if (workerId === undefined) {
        if (placement) awaited.add(placement.workerId);
        continue;
      }
      this.queue.delete(requestId);
      actions.push(this.assign(requestId, workerId, workerId === ahead));
    }
    return actions;
  }

  private pick(placement: Placement | undefined, ahead: string | undefined): string | undefined {
    if (placement && this.available.has(placement.workerId)) return placement.workerId;
    if (placement && placement.mode !== 'hint') return undefined;
    return this.available.values().next().value ?? ahead;
  }

  /** The least loaded ready worker that may hold one more call waiting, if any. */
  private roomAhead(awaited: ReadonlySet<string>): string | undefined {
    let best: string | undefined;
    let load = Infinity;
    for (const [workerId, slot] of this.workers) {
      if (slot.ready && !awaited.has(workerId) && slot.inUse < slot.capacity + slot.prefetch && slot.inUse < load) {
        best = workerId;
        load = slot.inUse;
      }
    }
    return best;
  }

  private assign(requestId: string, workerId: string, ahead: boolean): SchedulerAction {
    const slot = this.workers.get(workerId)!;
    slot.inUse++;
    this.available.delete(workerId);
    if (slot.inUse < slot.capacity) this.available.add(workerId);
    return ahead ? { type: 'dispatch', requestId, workerId, ahead } : { type: 'dispatch', requestId, workerId };
  }
}
