import fc from 'fast-check';
import { Scheduler, type Placement, type SchedulerAction } from './scheduler';

const dispatched = (actions: SchedulerAction[]) =>
  actions.filter((a) => a.type === 'dispatch').map((a) => [a.requestId, (a as any).workerId]);

describe('Scheduler', () => {
  it('sends a call straight to an idle worker', () => {
    const s = new Scheduler(10);
    s.addWorker('w1');
    expect(s.submit('r1')).toEqual([{ type: 'dispatch', requestId: 'r1', workerId: 'w1' }]);
    expect(s.busyWorkers).toBe(1);
  });

  it('queues calls while every worker is busy and serves them FIFO', () => {
    const s = new Scheduler(10);
    s.addWorker('w1');
    s.submit('r1');
    expect(s.submit('r2')).toEqual([]);
    expect(s.submit('r3')).toEqual([]);
    expect(s.queued).toBe(2);
    expect(dispatched(s.release('w1'))).toEqual([['r2', 'w1']]);
    expect(dispatched(s.release('w1'))).toEqual([['r3', 'w1']]);
    expect(s.queued).toBe(0);
  });

  it('refuses calls beyond maxQueueSize', () => {
    const s = new Scheduler(1);
    s.addWorker('w1');
    s.submit('r1');
    s.submit('r2');
    expect(s.submit('r3')).toEqual([{ type: 'reject', requestId: 'r3', reason: 'saturated' }]);
  });

  it('gives queued calls to a worker that becomes ready', () => {
    const s = new Scheduler(10);
    s.submit('r1');
    s.submit('r2');
    expect(dispatched(s.addWorker('w1', 2))).toEqual([
      ['r1', 'w1'],
      ['r2', 'w1'],
    ]);
  });

  it('prefers the worker that has been idle longest', () => {
    const s = new Scheduler(10);
    s.addWorker('w1');
    s.addWorker('w2');
    s.submit('a');
    s.submit('b');
    s.release('w1');
    expect(dispatched(s.submit('c'))).toEqual([['c', 'w1']]);
  });

  it('withdraws a waiting call and never dispatches it', () => {
    const s = new Scheduler(10);
    s.addWorker('w1');
    s.submit('r1');
    s.submit('r2');
    expect(s.withdraw('r2')).toBe(true);
    expect(s.release('w1')).toEqual([]);
  });

  it('never dispatches to a removed worker', () => {
    const s = new Scheduler(10);
    s.addWorker('w1');
    s.submit('r1');
    s.removeWorker('w1');
    s.submit('r2');
    expect(s.release('w1')).toEqual([]);
    expect(s.queued).toBe(1);
  });

  it('keeps its promises under any sequence of events (property)', () => {
    type Op =
      | { op: 'submit'; pin?: { pick: number; mode: Placement['mode'] } }
      | { op: 'add'; capacity: number }
      | { op: 'release'; pick: number }
      | { op: 'remove'; pick: number }
      | { op: 'withdraw'; pick: number };
    const modeArb = fc.constantFrom<Placement['mode']>('hint', 'strictQueue', 'strictFailFast');
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ op: fc.constant('submit' as const), pin: fc.option(fc.record({ pick: fc.nat(), mode: modeArb }), { nil: undefined }) }),
      fc.record({ op: fc.constant('add' as const), capacity: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ op: fc.constant('release' as const), pick: fc.nat() }),
      fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }),
      fc.record({ op: fc.constant('withdraw' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5 }), fc.array(opArb, { maxLength: 200 }), (maxQueue, ops) => {
        const s = new Scheduler(maxQueue);
        const capacity = new Map<string, number>();
        const running = new Map<string, string[]>(); // worker -> its requests
        const everWorkers: string[] = [];
        const waiting: Array<{ id: string; placement?: Placement }> = [];
        const placements = new Map<string, Placement | undefined>();
        const seen = new Set<string>();
        let requestSeq = 0;
        const hasRoom = (w: string) => capacity.has(w) && running.get(w)!.length < capacity.get(w)!;
        const canUse = (placement: Placement | undefined, w: string) =>
          !placement || placement.mode === 'hint' || placement.workerId === w;
        const onActions = (actions: SchedulerAction[]) => {
          for (const a of actions) {
            expect(seen.has(a.requestId)).toBe(false); // never twice
            seen.add(a.requestId);
            const at = waiting.findIndex((entry) => entry.id === a.requestId);
            const placement = placements.get(a.requestId);
            if (at >= 0) waiting.splice(at, 1);
            if (a.type === 'reject') {
              if (a.reason === 'saturated') expect(waiting.length).toBe(maxQueue);
              else expect(placement && placement.mode !== 'hint').toBe(true);
              if (a.reason === 'worker_busy') {
                expect(placement!.mode).toBe('strictFailFast');
                expect(hasRoom(placement!.workerId)).toBe(false);
              }
              if (a.reason === 'worker_unavailable') expect(capacity.has(placement!.workerId)).toBe(false);
              continue;
            }
            // Strict calls run only on their worker; FIFO: no older waiting call could have used this worker.
            expect(canUse(placement, a.workerId)).toBe(true);
            expect(waiting.slice(0, Math.max(at, 0)).some((older) => canUse(older.placement, a.workerId))).toBe(false);
            expect(hasRoom(a.workerId)).toBe(true);
            running.get(a.workerId)!.push(a.requestId);
          }
        };
        for (const step of ops) {
          const workers = [...capacity.keys()];
          if (step.op === 'submit') {
            const id = `r${++requestSeq}`;
            const placement = step.pin && everWorkers.length
              ? { workerId: everWorkers[step.pin.pick % everWorkers.length], mode: step.pin.mode }
              : undefined;
            placements.set(id, placement);
            waiting.push({ id, placement });
            onActions(s.submit(id, placement));
          } else if (step.op === 'add') {
            const id = `w${everWorkers.length + 1}`;
            everWorkers.push(id);
            capacity.set(id, step.capacity);
            running.set(id, []);
            onActions(s.addWorker(id, step.capacity));
          } else if (step.op === 'release' && workers.length) {
            const w = workers[step.pick % workers.length];
            running.get(w)!.shift();
            onActions(s.release(w));
          } else if (step.op === 'remove' && workers.length) {
            const w = workers[step.pick % workers.length];
            capacity.delete(w);
            running.delete(w);
            onActions(s.removeWorker(w));
          } else if (step.op === 'withdraw' && waiting.length) {
            const [entry] = waiting.splice(step.pick % waiting.length, 1);
            expect(s.withdraw(entry.id)).toBe(true);
            seen.add(entry.id);
          }
          // Nothing waits that a worker with room could take, and the counts agree.
          for (const entry of waiting) {
            expect([...capacity.keys()].some((w) => hasRoom(w) && canUse(entry.placement, w))).toBe(false);
          }
          expect(s.queued).toBe(waiting.length);
        }
      }),
    );
  });

  it('sends a hint call to its session worker when it is free, else to any worker', () => {
    const s = new Scheduler(10);
    s.addWorker('w1');
    s.addWorker('w2');
    expect(dispatched(s.submit('a', { workerId: 'w2', mode: 'hint' }))).toEqual([['a', 'w2']]);
    expect(dispatched(s.submit('b', { workerId: 'w2', mode: 'hint' }))).toEqual([['b', 'w1']]);
  });

  it('makes a strictQueue call wait for its worker while others are free', () => {
    const s = new Scheduler(10);
    s.addWorker('w1');
    s.addWorker('w2');
    s.submit('a', { workerId: 'w1', mode: 'strictQueue' });
    expect(s.submit('b', { workerId: 'w1', mode: 'strictQueue' })).toEqual([]);
    expect(dispatched(s.submit('c'))).toEqual([['c', 'w2']]);
    expect(dispatched(s.release('w1'))).toEqual([['b', 'w1']]);
  });

  it('refuses a strictFailFast call whose worker is busy, and strict calls whose worker is gone', () => {
    const s = new Scheduler(10);
    s.addWorker('w1');
    s.submit('a');
    expect(s.submit('b', { workerId: 'w1', mode: 'strictFailFast' })).toEqual([{ type: 'reject', requestId: 'b', reason: 'worker_busy' }]);
    expect(s.submit('c', { workerId: 'w9', mode: 'strictQueue' })).toEqual([{ type: 'reject', requestId: 'c', reason: 'worker_unavailable' }]);
    s.submit('d', { workerId: 'w1', mode: 'strictQueue' });
    expect(s.removeWorker('w1')).toEqual([{ type: 'reject', requestId: 'd', reason: 'worker_unavailable' }]);
  });
});
