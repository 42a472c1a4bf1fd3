/**
 * The pool's decision-maker, as pure data: which call goes to which worker, who waits,
 * who is refused. It keeps no timers and touches no I/O; every method takes an event and
 * returns the actions the pool must carry out, so it can be tested exhaustively.
 *
 * Rules: calls are served FIFO; a call goes to the idle worker that has waited longest;
 * a worker takes at most `capacity` calls at once; when every worker is full, calls wait
 * in the queue up to `maxQueueSize`, and beyond that they are refused.
 */
export type SchedulerAction =
  | { type: 'dispatch'; requestId: string; workerId: string }
  | { type: 'reject'; requestId: string; reason: 'saturated' };

interface WorkerSlot {
  capacity: number;
  inUse: number;
}

export class Scheduler {
  private readonly workers = new Map<string, WorkerSlot>();
  /** Workers with a free slot, longest-free first (Map keeps insertion order). */
  private readonly available = new Set<string>();
  /** Waiting calls in arrival order. */
  private readonly queue = new Set<string>();

  constructor(private readonly maxQueueSize: number) {}

  get queued(): number {
    return this.queue.size;
  }

  get busyWorkers(): number {
    let busy = 0;
    for (const slot of this.workers.values()) if (slot.inUse > 0) busy++;
    return busy;
  }

  get workerCount(): number {
    return this.workers.size;
  }

  isQueued(requestId: string): boolean {
    return this.queue.has(requestId);
  }

  /** A call arrives. */
  submit(requestId: string): SchedulerAction[] {
    const workerId = this.queue.size === 0 ? this.firstAvailable() : undefined;
    if (workerId !== undefined) return [this.assign(requestId, workerId)];
    if (this.queue.size >= this.maxQueueSize) return [{ type: 'reject', requestId, reason: 'saturated' }];
    this.queue.add(requestId);
    return [];
  }

  /** A worker became ready to take calls. */
  addWorker(workerId: string, capacity = 1): SchedulerAction[] {
    if (this.workers.has(workerId)) throw new Error(`worker ${workerId} is already scheduled`);
    this.workers.set(workerId, { capacity, inUse: 0 });
    this.available.add(workerId);
    return this.drain();
  }

  /** A worker finished one call and can take another. */
  release(workerId: string): SchedulerAction[] {
    const slot = this.workers.get(workerId);
    if (!slot || slot.inUse === 0) return [];
    slot.inUse--;
    this.available.add(workerId);
    return this.drain();
  }

  /** A worker left (died, killed, recycled): it gets no more calls. */
  removeWorker(workerId: string): void {
    this.workers.delete(workerId);
    this.available.delete(workerId);
  }

  /** A waiting call gave up (timeout, abort). Returns whether it was still waiting. */
  withdraw(requestId: string): boolean {
    return this.queue.delete(requestId);
  }

  /** Removes every waiting call and returns their ids, oldest first. */
  drainQueue(): string[] {
    const ids = [...this.queue];
    this.queue.clear();
    return ids;
  }

  private drain(): SchedulerAction[] {
    const actions: SchedulerAction[] = [];
    for (const requestId of this.queue) {
      const workerId = this.firstAvailable();
      if (workerId === undefined) break;
      this.queue.delete(requestId);
      actions.push(this.assign(requestId, workerId));
    }
    return actions;
  }

  private firstAvailable(): string | undefined {
    const next = this.available.values().next();
    return next.done ? undefined : next.value;
  }

  private assign(requestId: string, workerId: string): SchedulerAction {
    const slot = this.workers.get(workerId)!;
    slot.inUse++;
    this.available.delete(workerId);
    if (slot.inUse < slot.capacity) this.available.add(workerId);
    return { type: 'dispatch', requestId, workerId };
  }
}
