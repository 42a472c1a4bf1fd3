/**
 * Chaos (run alone with `npm run test:chaos`): workers are SIGKILLed at random while 1,000
 * idempotent calls run. Every call must resolve with its own result, and the pool must come
 * back to full size.
 */
import { bootApp, type TestApp } from '../support/app';
import { eventually, isAlive } from '../support/processes';

const CALLS = 1000;
const POOL_SIZE = 4;

describe('chaos: SIGKILLs under load', () => {
  let app: TestApp | undefined;
  afterEach(async () => {
    await app?.close();
  });

  it('resolves every one of 1,000 idempotent calls while workers are killed, then returns to full size', async () => {
    app = await bootApp({
      poolSize: POOL_SIZE,
      queue: { maxSize: CALLS, timeoutMs: 120_000 },
      requestTimeoutMs: 120_000,
      restart: { maxRestarts: 10_000, backoffMs: 10, maxBackoffMs: 200 },
      crashBarrier: { taintMs: 20, maxRetries: 20, retryBackoffMs: 5 },
    });
    await app.pool.ready();
    let settled = 0;
    const calls = Array.from({ length: CALLS }, (_, i) =>
      app!.pool.execute<number>('echo_after', { value: i, ms: 5 }, { idempotent: true }).finally(() => settled++),
    );
    const killed: number[] = [];
    const killer = (async () => {
      while (settled < CALLS) {
        await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 100));
        const ready = app!.pool.listWorkers().filter((w) => w.state === 'ready' && w.pid !== undefined && isAlive(w.pid));
        if (ready.length === 0) continue;
        const victim = ready[Math.floor(Math.random() * ready.length)];
        process.kill(victim.pid!, 'SIGKILL');
        killed.push(victim.pid!);
      }
    })();
    const results = await Promise.allSettled(calls);
    await killer;
    const failures = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(failures.map((f) => String(f.reason).split('\n')[0])).toEqual([]);
    expect(results.map((r) => (r as PromiseFulfilledResult<number>).value)).toEqual(Array.from({ length: CALLS }, (_, i) => i));
    expect(killed.length).toBeGreaterThan(3);
    // The last kill may come just as the last call settles: wait until the pool has seen every
    // victim go, as well as its size come back.
    const victimsGone = () => !app!.pool.listWorkers().some((w) => killed.includes(w.pid!));
    await eventually(() => victimsGone() && app!.pool.stats().workers.ready === POOL_SIZE, 20_000, 'the pool to return to full size');
    const stats = app.pool.stats();
    expect(stats).toMatchObject({ status: 'ready', requests: CALLS, succeeded: CALLS, errors: 0, crashes: killed.length });
    expect(stats.retries).toBeGreaterThan(0);
  });
});
