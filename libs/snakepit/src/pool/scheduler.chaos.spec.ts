/**
 * Chaos (run alone with `npm run test:chaos`): the Scheduler against a model of what it
 * promises, under any sequence of arrivals, workers starting, finishing, dying (their calls
 * retried), being suspended and recycled into a successor, and callers giving up; with and
 * without prefetch (calls sent ahead to busy workers).
 */
import fc from 'fast-check';
import { Scheduler, type Placement, type SchedulerAction } from './scheduler';

type Op =
  | { op: 'submit'; pin?: { pick: number; mode: Placement['mode'] } }
  | { op: 'add'; capacity: number; prefetch: number }
  | { op: 'expect'; capacity: number; prefetch: number }
  | { op: 'ready'; pick: number }
  | { op: 'release'; pick: number }
  | { op: 'remove'; pick: number }
  | { op: 'suspend'; pick: number }
  | { op: 'recycle'; pick: number; heir: number }
  | { op: 'crash'; pick: number }
  | { op: 'withdraw'; pick: number };

const modeArb = fc.constantFrom<Placement['mode']>('hint', 'strictQueue', 'strictFailFast');
// The first argument of fc.oneof may be its constraints, so weighted entries get one in front of them.
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {},
  { arbitrary: fc.record({ op: fc.constant('submit' as const), pin: fc.option(fc.record({ pick: fc.nat(), mode: modeArb }), { nil: undefined }) }), weight: 4 },
  fc.record({ op: fc.constant('add' as const), capacity: fc.integer({ min: 1, max: 3 }), prefetch: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ op: fc.constant('expect' as const), capacity: fc.integer({ min: 1, max: 3 }), prefetch: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ op: fc.constant('ready' as const), pick: fc.nat() }),
  { arbitrary: fc.record({ op: fc.constant('release' as const), pick: fc.nat() }), weight: 3 },
  fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('suspend' as const), pick: fc.nat() }),
  { arbitrary: fc.record({ op: fc.constant('recycle' as const), pick: fc.nat(), heir: fc.nat() }), weight: 2 },
  fc.record({ op: fc.constant('crash' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('withdraw' as const), pick: fc.nat() }),
);

/** What the scheduler should be doing, kept the slow and obvious way. */
class Model {
  readonly capacity = new Map<string, number>();
  readonly prefetch = new Map<string, number>();
  readonly ready = new Set<string>();
  /** Being recycled: never ready again. */
  readonly suspended = new Set<string>();
  readonly running = new Map<string, string[]>();
  readonly waiting: Array<{ id: string; placement?: Placement }> = [];
  readonly placements = new Map<string, Placement | undefined>();
  /** Requests that ended for good (rejected or withdrawn): they may never come back. */
  readonly finished = new Set<string>();
  readonly everWorkers: string[] = [];

  constructor(readonly maxQueue: number) {}

  hasRoom(worker: string): boolean {
    return this.ready.has(worker) && this.running.get(worker)!.length < this.capacity.get(worker)!;
  }

  /** Ready, and may hold one more call waiting (sent ahead). */
  hasRoomAhead(worker: string): boolean {
    return this.ready.has(worker) && this.running.get(worker)!.length < this.capacity.get(worker)! + this.prefetch.get(worker)!;
  }

  isStrictOn(placement: Placement | undefined, worker: string): boolean {
    return placement !== undefined && placement.mode !== 'hint' && placement.workerId === worker;
  }

  canUse(placement: Placement | undefined, worker: string): boolean {
    return !placement || placement.mode === 'hint' || placement.workerId === worker;
  }

  isRunning(id: string): boolean {
    return [...this.running.values()].some((ids) => ids.includes(id));
  }

  newWorker(capacity: number, prefetch: number, ready: boolean): string {
    const id = `w${this.everWorkers.length + 1}`;
    this.everWorkers.push(id);
    this.capacity.set(id, capacity);
    this.prefetch.set(id, prefetch);
    this.running.set(id, []);
    if (ready) this.ready.add(id);
    return id;
  }

  dropWorker(worker: string, heir?: string): string[] {
    const orphans = this.running.get(worker) ?? [];
    this.capacity.delete(worker);
    this.prefetch.delete(worker);
    this.ready.delete(worker);
    this.running.delete(worker);
    if (heir !== undefined) {
      for (const entry of this.waiting) {
        if (entry.placement?.workerId === worker) entry.placement = { ...entry.placement, workerId: heir };
      }
    }
    return orphans;
  }

  /** Checks each action against the rules and applies it. */
  apply(actions: SchedulerAction[]): void {
    for (const action of actions) {
      expect(this.finished.has(action.requestId)).toBe(false); // nothing ends twice
      expect(this.isRunning(action.requestId)).toBe(false); // never on two workers at once
      const at = this.waiting.findIndex((entry) => entry.id === action.requestId);
      const placement = at >= 0 ? this.waiting[at].placement : this.placements.get(action.requestId);
      if (at >= 0) this.waiting.splice(at, 1);
      if (action.type === 'reject') {
        this.finished.add(action.requestId);
        if (action.reason === 'saturated') expect(this.waiting.length).toBeGreaterThanOrEqual(this.maxQueue);
        else expect(placement && placement.mode !== 'hint').toBe(true);
        if (action.reason === 'worker_busy') {
          expect(placement!.mode).toBe('strictFailFast');
          expect(this.hasRoom(placement!.workerId)).toBe(false);
        }
        if (action.reason === 'worker_unavailable') expect(this.capacity.has(placement!.workerId)).toBe(false);
        continue;
      }
      // Affinity: strict calls run only on their worker. FIFO: no older waiting call could have used it.
      expect(at).toBeGreaterThanOrEqual(0);
      expect(this.canUse(placement, action.workerId)).toBe(true);
      expect(this.waiting.slice(0, at).some((older) => this.canUse(older.placement, action.workerId))).toBe(false);
      if (action.ahead) {
        // Sent ahead only when no worker is free, never bound to a session's worker, within prefetch.
        expect([...this.capacity.keys()].some((w) => this.hasRoom(w))).toBe(false);
        expect(placement === undefined || placement.mode === 'hint').toBe(true);
        expect(this.hasRoomAhead(action.workerId)).toBe(true);
      } else {
        expect(this.hasRoom(action.workerId)).toBe(true);
      }
      this.running.get(action.workerId)!.push(action.requestId);
    }
  }

  /** Nothing is lost: every request is waiting, running or finished; nothing waits that a
   *  worker with room could take; the counts agree. */
  check(s: Scheduler, submitted: number): void {
    this.waiting.forEach((entry, at) => {
      expect([...this.capacity.keys()].some((w) => this.hasRoom(w) && this.canUse(entry.placement, w))).toBe(false);
      // A call that may go ahead waits only where an older call waits strictly for that worker.
      if (entry.placement && entry.placement.mode !== 'hint') return;
      for (const w of this.capacity.keys()) {
        if (this.hasRoomAhead(w)) expect(this.waiting.slice(0, at).some((older) => this.isStrictOn(older.placement, w))).toBe(true);
      }
    });
    for (let n = 1; n <= submitted; n++) {
      const id = `r${n}`;
      const places = (this.waiting.some((e) => e.id === id) ? 1 : 0) + (this.isRunning(id) ? 1 : 0) + (this.finished.has(id) ? 1 : 0);
      expect(places).toBe(1);
    }
    expect(s.queued).toBe(this.waiting.length);
  }
}

describe('Scheduler (chaos)', () => {
  it('loses no call, runs none twice, keeps FIFO within constraints and affinity (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5 }), fc.array(opArb, { maxLength: 120, size: 'max' }), (maxQueue, ops) => {
        const s = new Scheduler(maxQueue);
        const m = new Model(maxQueue);
        let submitted = 0;
        const known = () => [...m.capacity.keys()];
        for (const step of ops) {
          const workers = known();
          const pick = (n: number) => workers[n % workers.length];
          if (step.op === 'submit') {
            const id = `r${++submitted}`;
            const placement = step.pin && m.everWorkers.length
              ? { workerId: m.everWorkers[step.pin.pick % m.everWorkers.length], mode: step.pin.mode }
              : undefined;
            m.placements.set(id, placement);
            m.waiting.push({ id, placement });
            m.apply(s.submit(id, placement));
          } else if (step.op === 'add') {
            const id = m.newWorker(step.capacity, step.prefetch, true);
            m.apply(s.addWorker(id, step.capacity, step.prefetch));
          } else if (step.op === 'expect') {
            s.expectWorker(m.newWorker(step.capacity, step.prefetch, false), step.capacity, step.prefetch);
          } else if (step.op === 'ready') {
            const pending = workers.filter((w) => !m.ready.has(w) && !m.suspended.has(w));
            if (!pending.length) continue;
            const id = pending[step.pick % pending.length];
            m.ready.add(id);
            m.apply(s.addWorker(id));
          } else if (step.op === 'release' && workers.length) {
            const w = pick(step.pick);
            const done = m.running.get(w)!.shift();
            if (done) m.finished.add(done);
            m.apply(s.release(w));
          } else if (step.op === 'remove' && workers.length) {
            const w = pick(step.pick);
            for (const id of m.dropWorker(w)) m.finished.add(id); // their callers got the crash error
            m.apply(s.removeWorker(w));
          } else if (step.op === 'suspend' && workers.length) {
            // Being recycled: no new call; its running calls go on; strict calls keep waiting for it.
            const w = pick(step.pick);
            m.ready.delete(w);
            m.suspended.add(w);
            s.suspend(w);
          } else if (step.op === 'recycle' && workers.length > 1) {
            const w = pick(step.pick);
            const heir = workers.filter((x) => x !== w)[step.heir % (workers.length - 1)];
            for (const id of m.dropWorker(w, heir)) m.finished.add(id);
            m.apply(s.removeWorker(w, heir));
          } else if (step.op === 'crash' && workers.length) {
            // The worker dies; its calls are idempotent and come back, oldest first, ahead of the queue.
            const w = pick(step.pick);
            const orphans = m.dropWorker(w);
            m.apply(s.removeWorker(w));
            for (const id of [...orphans].reverse()) {
              m.waiting.unshift({ id, placement: m.placements.get(id) });
              m.apply(s.resubmit(id, m.placements.get(id)));
            }
          } else if (step.op === 'withdraw' && m.waiting.length) {
            const [entry] = m.waiting.splice(step.pick % m.waiting.length, 1);
            const after = s.withdraw(entry.id);
            expect(after).toBeDefined();
            m.finished.add(entry.id);
            m.apply(after!);
          }
          m.check(s, submitted);
        }
      }),
      { numRuns: 100 },
    );
  });
});
