import { SnakepitError } from '@snakepit/nestjs';
import { bootApp } from './support/app';
import { eventually, workersOfRun } from './support/processes';

describe('mixed load with faults', () => {
  it('settles every call, recovers its workers and leaves nothing behind', async () => {
    const app = await bootApp({ poolSize: 2, cancelGraceMs: 50, queue: { maxSize: 50, timeoutMs: 2000 } });
    try {
      await app.pool.ready();
      const calls = Array.from({ length: 300 }, (_, i) => {
        if (i % 50 === 7) return app.pool.execute('crash', { mode: 'exit', code: 1 });
        if (i % 20 === 3) return app.pool.execute('sleep', { ms: 2000 }, { timeoutMs: 30 });
        if (i % 20 === 5) return app.pool.execute('echo', { i }, { signal: AbortSignal.timeout(1) });
        if (i % 10 === 9) return app.pool.execute('raise_error', { type: 'KeyError', message: String(i) });
        return app.pool.execute('echo', { i });
      });
      const results = await Promise.allSettled(calls);
      const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      // Every failure is one of ours, with a code; every success is the call's own answer.
      for (const failure of failures) expect(failure.reason).toBeInstanceOf(SnakepitError);
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') expect(r.value).toEqual({ i });
      });
      const stats = app.pool.stats();
      expect(stats.succeeded + stats.errors).toBe(stats.requests);
      expect(stats.busy).toBe(0);
      expect(stats.queued).toBe(0);
      await eventually(() => app.pool.stats().workers.ready === 2, 10_000, 'both workers to be ready again');
      await expect(app.pool.execute('add', { a: 1, b: 2 })).resolves.toBe(3);
    } finally {
      await app.close();
    }
    expect(workersOfRun(app.runId)).toEqual([]);
  });
});
