import { WorkerStartError } from '@snakepit/nestjs';
import { bootApp, rejectionOf, type TestApp } from './support/app';

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
    const first = Array.from({ length: 4 }, () => app!.pool.execute<Ran>('overlap', { ms: 400 }));
    const fifth = app.pool.execute<Ran>('overlap', { ms: 10 });
    const ran = await Promise.all(first);
    expect(new Set(ran.map((r) => r.pid)).size).toBe(1);
    // All four were running at the same time: each started before any ended.
    expect(Math.max(...ran.map((r) => r.start))).toBeLessThan(Math.min(...ran.map((r) => r.end)));
    // The fifth waited for a free thread.
    expect((await fifth).start).toBeGreaterThanOrEqual(Math.min(...ran.map((r) => r.end)));
    expect(app.pool.listWorkers()[0].inFlight).toBe(0);
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
    const io = await Promise.all(Array.from({ length: 3 }, () => app!.pool.execute<Ran>('overlap', { ms: 300 }, { pool: 'io' })));
    expect(Math.max(...io.map((r) => r.start))).toBeLessThan(Math.min(...io.map((r) => r.end)));
    const cpu = await Promise.all(Array.from({ length: 2 }, () => app!.pool.execute<Ran>('overlap', { ms: 100 }, { pool: 'cpu' })));
    const [a, b] = cpu.sort((x, y) => x.start - y.start);
    expect(b.start).toBeGreaterThanOrEqual(a.end); // one at a time
    expect(await app.pool.execute('ping', {}, { pool: 'plain' })).toBe('pong');
  });
});
