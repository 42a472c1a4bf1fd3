import {
  PoolSaturatedError,
  QueueTimeoutError,
  RequestAbortedError,
  RequestTimeoutError,
  UnknownToolError,
} from '@snakepit/nestjs';
import { bootApp, rejectionOf, type TestApp } from './support/app';
import { eventually, isAlive } from './support/processes';

describe('queueing, timeouts and cancellation', () => {
  let app: TestApp;
  afterEach(() => app?.close());

  it('runs more concurrent calls than workers, all of them, in FIFO order', async () => {
    app = await bootApp({ poolSize: 1 });
    const finished: number[] = [];
    const calls = Array.from({ length: 12 }, (_, i) =>
      app.pool.execute('echo', { i }).then((r: any) => finished.push(r.i)),
    );
    await Promise.all(calls);
    expect(finished).toEqual(Array.from({ length: 12 }, (_, i) => i));
  });

  it('spreads concurrent calls over every worker', async () => {
    app = await bootApp({ poolSize: 2 });
    await app.pool.ready();
    const results = await Promise.all(
      Array.from({ length: 8 }, () => app.pool.execute<{ pid: number }>('sleep', { ms: 50 })),
    );
    expect(new Set(results.map((r) => r.pid)).size).toBe(2);
    expect(app.pool.stats()).toMatchObject({ succeeded: 8, busy: 0, queued: 0 });
  });

  it('refuses calls when the queue is full', async () => {
    app = await bootApp({ poolSize: 1, queue: { maxSize: 2 } });
    await app.pool.ready();
    const running = app.pool.execute('sleep', { ms: 300 });
    const queued = [app.pool.execute('echo', { n: 1 }), app.pool.execute('echo', { n: 2 })];
    const error = await rejectionOf(app.pool.execute('echo', { n: 3 }));
    expect(error).toBeInstanceOf(PoolSaturatedError);
    expect(error.code).toBe('pool_saturated');
    await expect(running).resolves.toMatchObject({ slept_ms: 300 });
    await expect(Promise.all(queued)).resolves.toEqual([{ n: 1 }, { n: 2 }]);
    expect(app.pool.stats().rejected).toBe(1);
  });

  it('fails a call that waits in the queue too long, and never runs it', async () => {
    app = await bootApp({ poolSize: 1, queue: { timeoutMs: 150 } });
    await app.pool.ready();
    const running = app.pool.execute('sleep', { ms: 600 });
    const error = await rejectionOf(app.pool.execute('allocate', { mb: 1 }));
    expect(error).toBeInstanceOf(QueueTimeoutError);
    expect(error.code).toBe('queue_timeout');
    await running;
    // Had the timed-out call run, the worker would hold 1 MiB already.
    await expect(app.pool.execute('allocate', { mb: 1 })).resolves.toEqual({ allocated_mb: 1 });
  });

  it('stops counting queue.timeoutMs once a queued call reaches a worker', async () => {
    app = await bootApp({ poolSize: 1, queue: { timeoutMs: 1000 } });
    await app.pool.ready();
    const first = app.pool.execute('sleep', { ms: 300 });
    // Waits ~300 ms in the queue, then runs for 1500 ms: well past queue.timeoutMs in all.
    const second = app.pool.execute<{ slept_ms: number }>('sleep', { ms: 1500 });
    await first;
    await expect(second).resolves.toMatchObject({ slept_ms: 1500 });
    expect(app.pool.stats()).toMatchObject({ timeouts: 0, crashes: 0 });
  });

  it('applies the call timeout and abort while the pool is still starting', async () => {
    app = await bootApp({ poolSize: 1, env: { SHOWCASE_START_DELAY_MS: '1500' } });
    const started = Date.now();
    const timedOut = rejectionOf(app.pool.execute('ping', {}, { timeoutMs: 200 }));
    const controller = new AbortController();
    const aborted = rejectionOf(app.pool.execute('ping', {}, { signal: controller.signal }));
    setTimeout(() => controller.abort(), 100);
    expect(await timedOut).toBeInstanceOf(RequestTimeoutError);
    expect(await aborted).toBeInstanceOf(RequestAbortedError);
    expect(Date.now() - started).toBeLessThan(1500);
    // Calls that waited for the boot without a tight deadline still run.
    await expect(app.pool.execute('add', { a: 1, b: 1 })).resolves.toBe(2);
  });

  it('tells an unknown tool called during boot once the tools are known', async () => {
    app = await bootApp({ poolSize: 1, env: { SHOWCASE_START_DELAY_MS: '300' } });
    const error = await rejectionOf(app.pool.execute('no_such_tool'));
    expect(error).toBeInstanceOf(UnknownToolError);
    expect(error.available).toContain('ping');
    await expect(app.pool.execute('ping')).resolves.toMatchObject({ pong: true });
  });

  it('times out a running call and replaces the worker that keeps running it', async () => {
    app = await bootApp({ poolSize: 1, cancelGraceMs: 100 });
    await app.pool.ready();
    const [before] = app.pool.listWorkers();
    const error = await rejectionOf(app.pool.execute('sleep', { ms: 30_000 }, { timeoutMs: 200 }));
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(error.code).toBe('request_timeout');
    await eventually(() => !isAlive(before.pid!), 5000, 'the stuck worker to be killed');
    await expect(app.pool.execute('ping')).resolves.toMatchObject({ pong: true });
    const after = app.pool.listWorkers();
    expect(after).toHaveLength(1);
    expect(after[0].pid).not.toBe(before.pid);
    expect(app.pool.stats().timeouts).toBe(1);
  });

  it('keeps a worker that finishes within the cancel grace period', async () => {
    app = await bootApp({ poolSize: 1, cancelGraceMs: 3000 });
    await app.pool.ready();
    const [before] = app.pool.listWorkers();
    await expect(app.pool.execute('sleep', { ms: 300 }, { timeoutMs: 100 })).rejects.toBeInstanceOf(RequestTimeoutError);
    const pid = await app.pool.execute('pid');
    expect(pid).toBe(before.pid);
  });

  it('tells Python a timed-out call is cancelled, so a cooperative tool stops and keeps its worker', async () => {
    app = await bootApp({ poolSize: 1, cancelGraceMs: 3000 });
    await app.pool.ready();
    const [before] = app.pool.listWorkers();
    const token = `coop-${process.pid}`;
    await expect(app.pool.execute('wait_until_cancelled', { token }, { timeoutMs: 200 })).rejects.toBeInstanceOf(RequestTimeoutError);
    await eventually(async () => (await app.pool.execute('finalized', { token })) === true, 3000, 'the tool to see the cancel');
    expect(app.pool.listWorkers()[0].pid).toBe(before.pid);
  });

  it('aborts a running call through an AbortSignal', async () => {
    app = await bootApp({ poolSize: 1, cancelGraceMs: 100 });
    await app.pool.ready();
    const controller = new AbortController();
    const call = app.pool.execute('sleep', { ms: 30_000 }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const error = await rejectionOf(call);
    expect(error).toBeInstanceOf(RequestAbortedError);
    expect(error.code).toBe('request_aborted');
    await expect(app.pool.execute('ping', {}, { timeoutMs: 10_000 })).resolves.toMatchObject({ pong: true });
    expect(app.pool.stats().aborted).toBe(1);
  });

  it('removes an aborted call from the queue so it never runs', async () => {
    app = await bootApp({ poolSize: 1 });
    await app.pool.ready();
    const running = app.pool.execute('sleep', { ms: 300 });
    const controller = new AbortController();
    const queued = app.pool.execute('allocate', { mb: 1 }, { signal: controller.signal });
    controller.abort(new Error('user left'));
    const error = await rejectionOf(queued);
    expect(error).toBeInstanceOf(RequestAbortedError);
    expect(error.message).toContain('user left');
    await running;
    await expect(app.pool.execute('allocate', { mb: 1 })).resolves.toEqual({ allocated_mb: 1 });
  });

  it('refuses a call whose signal is already aborted', async () => {
    app = await bootApp({ poolSize: 1 });
    await expect(app.pool.execute('ping', {}, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(RequestAbortedError);
  });
});
