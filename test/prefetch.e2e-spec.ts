import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RequestTimeoutError, WorkerCrashError } from '@snakepit/nestjs';
import { bootApp, rejectionOf, type TestApp } from './support/app';
import { eventually } from './support/processes';

/** prefetchPerWorker: calls sent ahead to busy workers, to wait there. */
describe('prefetch', () => {
  let app: TestApp;
  let dir: string;
  beforeAll(async () => {
    app = await bootApp({ poolSize: 1, prefetchPerWorker: 3, cancelGraceMs: 300 });
    await app.pool.ready();
    dir = mkdtempSync(join(tmpdir(), 'snakepit-prefetch-'));
  });
  afterAll(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const ready = () => eventually(() => app.pool.stats().workers.ready === 1, 10_000, 'the worker to be ready');

  it('sends calls ahead to a busy worker, which still runs them one at a time, in order', async () => {
    const calls = [0, 1, 2, 3].map(() => app.pool.execute<{ start: number; end: number; pid: number }>('overlap', { ms: 100 }));
    await eventually(() => app.pool.listWorkers()[0]?.inFlight === 4, 5000, 'all four calls to be on the worker');
    expect(app.pool.stats().queued).toBe(0);
    const runs = await Promise.all(calls);
    expect(new Set(runs.map((r) => r.pid)).size).toBe(1);
    for (let i = 1; i < runs.length; i++) expect(runs[i].start).toBeGreaterThanOrEqual(runs[i - 1].end);
  });

  it('runs on the replacement, and not as a retry, the calls that waited on a worker that crashed', async () => {
    const retries = app.pool.stats().retries;
    const front = app.pool.execute('sleep', { ms: 300 });
    const crash = rejectionOf(app.pool.execute('crash', { mode: 'exit', code: 7 }));
    // Not idempotent: they may run again only because they had not started.
    const waiting = [1, 2].map((a) => app.pool.execute('add', { a, b: 10 }));
    await eventually(() => app.pool.listWorkers()[0]?.inFlight === 4, 5000, 'all four calls to be on the worker');
    await front;
    expect(await crash).toMatchObject({ constructor: WorkerCrashError, exitCode: 7 });
    expect(await Promise.all(waiting)).toEqual([11, 12]);
    expect(app.pool.stats().retries).toBe(retries);
    await ready();
  });

  it('never runs a call whose caller gave up while it waited, and does not take its worker for stuck', async () => {
    const pid = app.pool.listWorkers()[0].pid;
    const marker = join(dir, 'gave-up');
    const front = app.pool.execute('sleep', { ms: 800 });
    const gaveUp = rejectionOf(app.pool.execute('crash_once', { marker }, { timeoutMs: 100 }));
    expect(await gaveUp).toBeInstanceOf(RequestTimeoutError);
    await front;
    await expect(app.pool.execute('add', { a: 1, b: 1 })).resolves.toBe(2);
    expect(existsSync(marker)).toBe(false);
    expect(app.pool.listWorkers()[0].pid).toBe(pid); // past cancelGraceMs, not replaced
  });

  it('replaces a worker stuck on a call, and runs the calls that waited behind it on the replacement', async () => {
    const pid = app.pool.listWorkers()[0].pid;
    // sleep ignores the cancel: past cancelGraceMs it is stuck, and its worker must go.
    const stuck = rejectionOf(app.pool.execute('sleep', { ms: 20_000 }, { timeoutMs: 200 }));
    const waiting = [1, 2].map((a) => app.pool.execute('add', { a, b: 1 }, { timeoutMs: 15_000 }));
    expect(await stuck).toBeInstanceOf(RequestTimeoutError);
    expect(await Promise.all(waiting)).toEqual([2, 3]);
    expect(app.pool.listWorkers()[0].pid).not.toBe(pid);
    await ready();
  });
});
