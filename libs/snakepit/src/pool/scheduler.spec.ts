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
    expect(s.withdraw('r2')).toEqual([]);
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

  it('lets strict calls wait for an expected worker, and hands them to a successor', () => {
    const s = new Scheduler(10);
    s.addWorker('w1');
    s.expectWorker('w2');
    expect(s.submit('a', { workerId: 'w2', mode: 'strictQueue' })).toEqual([]);
    expect(s.submit('b', { workerId: 'w2', mode: 'strictFailFast' })).toEqual([{ type: 'reject', requestId: 'b', reason: 'worker_busy' }]);
    expect(dispatched(s.addWorker('w2'))).toEqual([['a', 'w2']]);
    s.submit('c', { workerId: 'w2', mode: 'strictQueue' });
    s.expectWorker('w3');
    expect(s.removeWorker('w2', 'w3')).toEqual([]);
    expect(dispatched(s.addWorker('w3'))).toEqual([['c', 'w3']]);
  });

  it('puts a resubmitted call ahead of the queue', () => {
    const s = new Scheduler(10);
    s.addWorker('w1');
    s.submit('a');
    s.submit('b');
    s.removeWorker('w1');
    expect(s.resubmit('a')).toEqual([]);
    expect(dispatched(s.addWorker('w2'))).toEqual([['a', 'w2']]);
  });

  describe('prefetch (calls sent ahead to busy workers)', () => {
    const ahead = (actions: SchedulerAction[]) =>
      actions.filter((a) => a.type === 'dispatch').map((a) => [a.requestId, (a as any).workerId, (a as any).ahead === true]);

    it('sends a call ahead only when no worker is free, to the least loaded one', () => {
      const s = new Scheduler(10);
      s.addWorker('w1', 1, 2);
      s.addWorker('w2', 1, 2);
      expect(ahead(s.submit('r1'))).toEqual([['r1', 'w1', false]]);
      expect(ahead(s.submit('r2'))).toEqual([['r2', 'w2', false]]);
      expect(ahead(s.submit('r3'))).toEqual([['r3', 'w1', true]]);
      expect(ahead(s.submit('r4'))).toEqual([['r4', 'w2', true]]);
      expect(ahead(s.submit('r5'))).toEqual([['r5', 'w1', true]]);
      expect(ahead(s.submit('r6'))).toEqual([['r6', 'w2', true]]);
      expect(s.submit('r7')).toEqual([]); // every worker holds 1 + 2
      expect(s.queued).toBe(1);
      expect(ahead(s.release('w2'))).toEqual([['r7', 'w2', true]]);
    });

    it('prefers a worker that frees up to sending ahead, and sends nothing ahead without prefetch', () => {
      const s = new Scheduler(10);
      s.addWorker('w1', 1, 1);
      s.addWorker('w2');
      s.submit('r1');
      s.submit('r2');
      expect(ahead(s.submit('r3'))).toEqual([['r3', 'w1', true]]);
      expect(s.submit('r4')).toEqual([]); // w2 has no prefetch, w1 is full
      expect(ahead(s.release('w2'))).toEqual([['r4', 'w2', false]]);
    });

    it('never sends ahead a call bound to its session’s worker, and keeps strictFailFast’s busy answer', () => {
      const s = new Scheduler(10);
      s.addWorker('w1', 1, 4);
      s.submit('r1');
      expect(s.submit('r2', { workerId: 'w1', mode: 'strictQueue' })).toEqual([]);
      expect(s.submit('r3', { workerId: 'w1', mode: 'strictFailFast' })).toEqual([{ type: 'reject', requestId: 'r3', reason: 'worker_busy' }]);
      // Nothing goes ahead of a call that waits for w1 alone.
      expect(s.submit('r4', { workerId: 'w1', mode: 'hint' })).toEqual([]);
      expect(ahead(s.release('w1'))).toEqual([
        ['r2', 'w1', false],
        ['r4', 'w1', true],
      ]);
    });

    it('does not send ahead to a worker that is suspended or expected', () => {
      const s = new Scheduler(10);
      s.expectWorker('w0', 1, 4);
      s.addWorker('w1', 1, 4);
      s.submit('r1');
      s.suspend('w1');
      expect(s.submit('r2')).toEqual([]);
      expect(s.queued).toBe(1);
    });
  });
});
