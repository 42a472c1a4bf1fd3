import fc from 'fast-check';
import { Scheduler, type SchedulerAction } from './scheduler';

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
      | { op: 'submit' }
      | { op: 'add'; capacity: number }
      | { op: 'release'; pick: number }
      | { op: 'remove'; pick: number }
      | { op: 'withdraw'; pick: number };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.constant({ op: 'submit' as const }),
      fc.record({ op: fc.constant('add' as const), capacity: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ op: fc.constant('release' as const), pick: fc.nat() }),
      fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }),
      fc.record({ op: fc.constant('withdraw' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5 }), fc.array(opArb, { maxLength: 200 }), (maxQueue, ops) => {
        const s = new Scheduler(maxQueue);
        const capacity = new Map<string, number>();
        const running = new Map<string, string[]>(); // worker -> requests
        const waiting: string[] = [];
        const seen = new Set<string>();
        let requestSeq = 0;
        let workerSeq = 0;
        const onActions = (actions: SchedulerAction[]) => {
          for (const a of actions) {
            expect(seen.has(a.requestId) && a.type === 'reject').toBe(false);
            if (a.type === 'reject') {
              expect(waiting.length).toBe(maxQueue); // only when the queue is full
              continue;
            }
            // FIFO: a queued call leaves from the front.
            const at = waiting.indexOf(a.requestId);
            if (at >= 0) {
              expect(at).toBe(0);
              waiting.shift();
            }
            expect(capacity.has(a.workerId)).toBe(true);
            const list = running.get(a.workerId)!;
            list.push(a.requestId);
            expect(list.length).toBeLessThanOrEqual(capacity.get(a.workerId)!);
            expect(seen.has(a.requestId)).toBe(false);
            seen.add(a.requestId);
          }
        };
        for (const step of ops) {
          const workers = [...capacity.keys()];
          if (step.op === 'submit') {
            const id = `r${++requestSeq}`;
            const before = waiting.length;
            const actions = s.submit(id);
            if (actions.length === 0) waiting.push(id);
            onActions(actions);
            expect(waiting.length).toBeGreaterThanOrEqual(before);
          } else if (step.op === 'add') {
            const id = `w${++workerSeq}`;
            capacity.set(id, step.capacity);
            running.set(id, []);
            onActions(s.addWorker(id, step.capacity));
          } else if (step.op === 'release' && workers.length) {
            const w = workers[step.pick % workers.length];
            if (running.get(w)!.length) running.get(w)!.shift();
            onActions(s.release(w));
          } else if (step.op === 'remove' && workers.length) {
            const w = workers[step.pick % workers.length];
            capacity.delete(w);
            running.delete(w);
            s.removeWorker(w);
          } else if (step.op === 'withdraw' && waiting.length) {
            const [id] = waiting.splice(step.pick % waiting.length, 1);
            expect(s.withdraw(id)).toBe(true);
          }
          // No call waits while a worker has room.
          const room = [...capacity].some(([w, c]) => running.get(w)!.length < c);
          expect(room && waiting.length > 0).toBe(false);
          expect(s.queued).toBe(waiting.length);
        }
      }),
    );
  });
});
