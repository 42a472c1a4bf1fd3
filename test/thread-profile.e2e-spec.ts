import { SnakepitEvent, WorkerStartError } from '@snakepit/nestjs';
import { bootApp, rejectionOf, type TestApp } from './support/app';
import { named, recordEvents } from './support/events';
import { eventually } from './support/processes';

interface Ran {
  start: number;
  end: number;
  pid: number;
}

describe('the thread profile', () => {
  let app: TestApp | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('runs threadsPerWorker calls at once in one process, and queues the next', async () => {
    app = await bootApp({ poolSize: 1, workerProfile: 'thread', threadsPerWorker: 4 });
    await app.pool.ready();
    // Four calls meet at a barrier in Python: only calls that run at the same time can.
    const met = await Promise.all(Array.from({ length: 4 }, () => app!.pool.execute<boolean>('rendezvous', { parties: 4 })));
    expect(met).toEqual([true, true, true, true]);
    // A fifth waits for a free thread: it starts only after one of the four ended.
    const first = Array.from({ length: 4 }, () => app!.pool.execute<Ran>('overlap', { ms: 300 }));
    const fifth = app.pool.execute<Ran>('overlap', { ms: 10 });
    const ran = await Promise.all(first);
    expect(new Set([...ran, await fifth].map((r) => r.pid)).size).toBe(1);
    expect((await fifth).start).toBeGreaterThanOrEqual(Math.min(...ran.map((r) => r.end)));
    expect(app.pool.listWorkers()[0].inFlight).toBe(0);
  });

  it('lets the other calls of a worker finish when one of them outlives its caller, then replaces it', async () => {
    app = await bootApp({ poolSize: 1, workerProfile: 'thread', threadsPerWorker: 2, cancelGraceMs: 100 });
    const seen = recordEvents(app);
    await app.pool.ready();
    const [worker] = app.pool.listWorkers();
    const healthy = app.pool.execute<Ran>('overlap', { ms: 1500 });
    const stuck = app.pool.execute('sleep', { ms: 5000 }, { timeoutMs: 200 }); // ignores the cancel
    expect(await rejectionOf(stuck)).toMatchObject({ code: 'request_timeout' });
    expect((await healthy).pid).toBe(worker.pid); // not killed with the stuck call
    await eventually(() => named(seen, SnakepitEvent.WorkerTerminated).some((e) => e.payload.workerId === worker.id), 5000, 'the worker to go');
    expect(named(seen, SnakepitEvent.WorkerTerminated).find((e) => e.payload.workerId === worker.id)!.payload.reason).toBe('stuck');
    expect(named(seen, SnakepitEvent.WorkerRecycled)[0]?.payload).toMatchObject({ workerId: worker.id, reason: 'stuck' });
    expect(await app.pool.execute('add', { a: 1, b: 1 })).toBe(2);
  });

  it('refuses an adapter that does not declare thread_safe = True', async () => {
    app = await bootApp({ poolSize: 1, workerProfile: 'thread', adapter: 'snakepit_showcase.adapter:PlainAdapter' });
    const error = await rejectionOf(app.pool.ready());
    expect(error).toBeInstanceOf(WorkerStartError);
    expect(error.pythonType).toBe('AdapterNotThreadSafeError');
    expect(error.message).toMatch(/does not declare thread_safe = True.*or use workerProfile 'process'/s);
  });

  it('runs pools of both profiles side by side, chosen per call', async () => {
    app = await bootApp({
      pools: [
        { name: 'cpu', poolSize: 1 },
        { name: 'io', poolSize: 1, workerProfile: 'thread', threadsPerWorker: 3 },
        { name: 'plain', poolSize: 1, adapter: 'snakepit_showcase.adapter:PlainAdapter' },
      ],
    });
    const io = await Promise.all(Array.from({ length: 3 }, () => app!.pool.execute<boolean>('rendezvous', { parties: 3 }, { pool: 'io' })));
    expect(io).toEqual([true, true, true]);
    const cpu = await Promise.all(Array.from({ length: 2 }, () => app!.pool.execute<Ran>('overlap', { ms: 100 }, { pool: 'cpu' })));
    const [a, b] = cpu.sort((x, y) => x.start - y.start);
    expect(b.start).toBeGreaterThanOrEqual(a.end); // one at a time
    expect(await app.pool.execute('ping', {}, { pool: 'plain' })).toBe('pong');
  });
});
