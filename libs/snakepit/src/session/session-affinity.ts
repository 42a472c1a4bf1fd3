import { Injectable } from '@nestjs/common';

/**
 * Which worker serves each session, per pool, and which sessions have calls in flight (those do
 * not expire). Internal: PoolService binds sessions as their calls dispatch, and a pool's fleet
 * hands a recycled worker's sessions to its successor. Worker ids mean something only to this
 * process, so this is the one place they are kept.
 */
@Injectable()
export class SessionAffinity {
  private readonly bindings = new Map<string, Map<string, string>>();
  private readonly inFlight = new Map<string, number>();

  /** The worker that served the session last in this pool, if any. */
  workerFor(id: string, pool: string): string | undefined {
    return this.bindings.get(id)?.get(pool);
  }

  /** Every pool's worker for the session. */
  workersOf(id: string): Record<string, string> {
    return Object.fromEntries(this.bindings.get(id) ?? []);
  }

  /** The session's calls in `pool` go to `workerId` from now. */
  bind(id: string, pool: string, workerId: string): void {
    let byPool = this.bindings.get(id);
    if (!byPool) this.bindings.set(id, (byPool = new Map()));
    byPool.set(pool, workerId);
  }

  /** Sessions bound to `workerId` in `pool` move to `successorId` (it replaced a recycled worker). */
  handOver(pool: string, workerId: string, successorId: string): void {
    for (const byPool of this.bindings.values()) if (byPool.get(pool) === workerId) byPool.set(pool, successorId);
  }

  /** The session is gone (deleted or expired). */
  forget(id: string): void {
    this.bindings.delete(id);
  }

  /** A call in the session starts; until it ends, the session does not expire. */
  beginCall(id: string): void {
    this.inFlight.set(id, (this.inFlight.get(id) ?? 0) + 1);
  }

  endCall(id: string): void {
    const left = (this.inFlight.get(id) ?? 1) - 1;
    if (left > 0) this.inFlight.set(id, left);
    else this.inFlight.delete(id);
  }

  /** Whether a call of the session is in flight. */
  pinned(id: string): boolean {
    return this.inFlight.has(id);
  }

  /** The sessions with calls in flight. */
  pinnedIds(): ReadonlySet<string> {
    return new Set(this.inFlight.keys());
  }
}
