import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  PoolFailedError,
  SessionService,
  SnakepitEvent,
  SnakepitEvents,
  WorkerCrashError,
  WorkerNotFoundError,
  WorkerUnresponsiveError,
} from '@snakepit/nestjs';
import { bootApp, rejectionOf, type TestApp } from './support/app';
import { named, recordEvents } from './support/events';
import { eventually, isAlive } from './support/processes';

/** Fast supervision for tests: ping every 100 ms, a miss after 1 s, dead after 2 misses. */
const QUICK_HEARTBEAT = { intervalMs: 100, timeoutMs: 1000, maxMisses: 2 };

describe('supervision', () => {
  let app: TestApp | undefined;
  let scratch: string;
  beforeEach(() => {
    scratch = mkdtempSync(join(tmpdir(), 'snakepit-supervision-'));
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    rmSync(scratch, { recursive: true, force: true });
  });
  const marker = (name: string) => join(scratch, name);

  /** SIGKILLs an idle worker (a death no call caused) and waits until it is gone. */
  const killIdleWorker = async () => {
    await eventually(() => app!.pool.listWorkers().some((w) => w.state === 'ready' && w.inFlight === 0), 10_000, 'an idle worker');
    const idle = app!.pool.listWorkers().find((w) => w.state === 'ready' && w.inFlight === 0)!;
    process.kill(idle.pid!, 'SIGKILL');
    await eventually(() => !app!.pool.listWorkers().some((w) => w.id === idle.id), 5000, 'the killed worker to go');
  };

  describe('heartbeats', () => {
    it('kills and replaces a worker whose tool holds the GIL; its call fails with WorkerUnresponsiveError', async () => {
      app = await bootApp({ poolSize: 1, heartbeat: QUICK_HEARTBEAT, crashBarrier: { taintMs: 0 } });
      const seen = recordEvents(app);
      await app.pool.ready();
      const [stuck] = app.pool.listWorkers();
      const error = await rejectionOf(app.pool.execute('hold_gil', { seconds: 600 }));
      expect(error).toBeInstanceOf(WorkerUnresponsiveError);
      expect(error).toMatchObject({ code: 'worker_unresponsive', workerId: stuck.id, missedHeartbeats: 2, tool: 'hold_gil' });
      expect(error.message).toMatch(/holds the GIL/);
      await eventually(() => !isAlive(stuck.pid!), 5000, 'the stuck worker to die');
      expect(await app.pool.execute('add', { a: 1, b: 2 })).toBe(3);
      expect(named(seen, SnakepitEvent.WorkerUnresponsive, SnakepitEvent.WorkerTerminated).map((e) => [e.event, e.payload.workerId, e.payload.reason])).toEqual([
        [SnakepitEvent.WorkerUnresponsive, stuck.id, undefined],
        [SnakepitEvent.WorkerTerminated, stuck.id, 'unresponsive'],
      ]);
      expect(app.pool.stats()).toMatchObject({ unresponsive: 1, crashes: 0 });
    });

    it('replaces an idle worker that was stopped (SIGSTOP)', async () => {
      app = await bootApp({ poolSize: 2, heartbeat: QUICK_HEARTBEAT });
      await app.pool.ready();
      const [frozen, other] = app.pool.listWorkers();
      process.kill(frozen.pid!, 'SIGSTOP');
      await eventually(() => !isAlive(frozen.pid!), 5000, 'the stopped worker to be killed');
      await eventually(() => app!.pool.stats().workers.ready === 2, 10_000, 'a replacement');
      const ids = app.pool.listWorkers().map((w) => w.id);
      expect(ids).toContain(other.id);
      expect(ids).not.toContain(frozen.id);
    });
  });

  describe('restart budget', () => {
    it('fails the pool after maxRestarts replacements in the window, then recovers on restart()', async () => {
      app = await bootApp({
        poolSize: 1,
        restart: { maxRestarts: 2, windowMs: 60_000, backoffMs: 50, cooldownMs: 600_000 },
        crashBarrier: { taintMs: 0 },
      });
      const seen = recordEvents(app);
      await app.pool.ready();
      for (let i = 0; i < 3; i++) await killIdleWorker();
      await eventually(() => app!.pool.stats().status === 'failed', 10_000, 'the pool to fail');
      const failed = await rejectionOf(app.pool.execute('ping'));
      expect(failed).toBeInstanceOf(PoolFailedError);
      expect(failed.message).toMatch(/replaced 2 times within 60000 ms.*PoolService\.restart\("default"\).*SIGKILL/s);
      expect(await rejectionOf(app.pool.ready())).toBe(failed);
      await eventually(() => app!.pool.listWorkers().length === 0, 5000, 'every worker to go');
      const restarts = named(seen, SnakepitEvent.WorkerRestarted).map((e) => e.payload.delayMs);
      expect(restarts).toHaveLength(2);
      expect(restarts[0]).toBe(0);
      expect(restarts[1]).toBeGreaterThanOrEqual(25); // half of backoffMs at least (jitter)
      expect(named(seen, SnakepitEvent.PoolFailed)).toEqual([
        { event: SnakepitEvent.PoolFailed, payload: expect.objectContaining({ pool: 'default', code: 'pool_failed' }) },
      ]);

      await app.pool.restart();
      expect(app.pool.stats().status).toBe('ready');
      expect(await app.pool.execute('add', { a: 2, b: 2 })).toBe(4);
      expect(named(seen, SnakepitEvent.PoolRecovered)).toHaveLength(1);
    });

    it('restarted at once from its failure event, it ends with poolSize workers, no more', async () => {
      app = await bootApp({
        poolSize: 2,
        env: { SHOWCASE_START_DELAY_MS: '400' },
        restart: { maxRestarts: 1, cooldownMs: 600_000 },
        crashBarrier: { taintMs: 0 },
      });
      await app.pool.ready();
      const events = app.module.get(SnakepitEvents);
      const restarted = new Promise<void>((resolve, reject) =>
        events.on(SnakepitEvent.PoolFailed, () => app!.pool.restart().then(resolve, reject)),
      );
      // The first death's replacement is still starting when the second one fails the pool.
      const [first, second] = app.pool.listWorkers();
      process.kill(first.pid!, 'SIGKILL');
      await eventually(() => !app!.pool.listWorkers().some((w) => w.id === first.id), 5000, 'the first to go');
      process.kill(second.pid!, 'SIGKILL');
      await restarted;
      await new Promise((resolve) => setTimeout(resolve, 800)); // the old replacement's start has long ended
      expect(app.pool.listWorkers().map((w) => w.state)).toEqual(['ready', 'ready']);
      expect(await app.pool.execute('add', { a: 1, b: 1 })).toBe(2);
    });

    it('recovers by itself after restart.cooldownMs', async () => {
      app = await bootApp({ poolSize: 1, restart: { maxRestarts: 0, cooldownMs: 300 } });
      const seen = recordEvents(app);
      await app.pool.ready();
      await killIdleWorker();
      await eventually(() => named(seen, SnakepitEvent.PoolRecovered).length === 1, 10_000, 'the pool to recover');
      expect(named(seen, SnakepitEvent.PoolFailed, SnakepitEvent.PoolRecovered).map((e) => e.event)).toEqual([
        SnakepitEvent.PoolFailed,
        SnakepitEvent.PoolRecovered,
      ]);
      expect(await app.pool.execute('add', { a: 1, b: 1 })).toBe(2);
    });
  });

  describe('a call that kills its worker', () => {
    it('is the call’s fault: a dozen of them leave the pool serving, and the tool is reported as poison', async () => {
      app = await bootApp({ poolSize: 2, restart: { maxRestarts: 2, poisonCrashes: 3 }, crashBarrier: { taintMs: 0 } });
      const seen = recordEvents(app);
      await app.pool.ready();
      const crashes = await Promise.all(Array.from({ length: 12 }, () => rejectionOf(app!.pool.execute('crash', { code: 7 }))));
      expect(crashes.every((error) => error instanceof WorkerCrashError)).toBe(true);
      expect(app.pool.stats().status).toBe('ready');
      expect(await app.pool.execute('add', { a: 1, b: 2 })).toBe(3);
      expect(named(seen, SnakepitEvent.PoolFailed)).toEqual([]);
      expect(named(seen, SnakepitEvent.PoisonToolSuspected).map((e) => [e.payload.tool, e.payload.crashes])).toEqual([['crash', 3]]);
      expect(app.pool.stats().poisonTools).toEqual([{ tool: 'crash', crashes: 12, lastCrashAt: expect.any(String) }]);
    });
  });

  describe('recycling', () => {
    it('replaces a worker after maxRequestsPerWorker calls without failing any queued call', async () => {
      app = await bootApp({ poolSize: 1, recycle: { maxRequestsPerWorker: 3 } });
      const seen = recordEvents(app);
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => app!.pool.execute<number>('echo_after', { value: i, ms: 5 })));
      expect(results).toEqual(Array.from({ length: 10 }, (_, i) => i));
      const recycled = named(seen, SnakepitEvent.WorkerRecycled);
      expect(recycled.length).toBe(3);
      expect(recycled.every((e) => e.payload.reason === 'requests')).toBe(true);
      expect(app.pool.stats()).toMatchObject({ recycled: 3, crashes: 0, errors: 0, succeeded: 10 });
      // Each recycled worker served exactly three calls and was then stopped, not killed mid-call.
      await eventually(() => named(seen, SnakepitEvent.WorkerTerminated).length === 3, 5000, 'the old workers to stop');
      expect(named(seen, SnakepitEvent.WorkerTerminated).map((e) => e.payload.reason)).toEqual(['recycle', 'recycle', 'recycle']);
    });

    it('recycles a worker past workerTtlMs only after the call it runs', async () => {
      app = await bootApp({ poolSize: 1, heartbeat: { intervalMs: 100 }, recycle: { workerTtlMs: 300 } });
      const seen = recordEvents(app);
      // Its worker passes the TTL in the middle of the call, which still succeeds.
      const { pid } = await app.pool.execute<{ pid: number }>('sleep', { ms: 1500 });
      const ran = named(seen, SnakepitEvent.WorkerSpawned).find((e) => e.payload.pid === pid)!.payload.workerId;
      const ended = () => named(seen, SnakepitEvent.WorkerTerminated).find((e) => e.payload.workerId === ran);
      await eventually(() => ended() !== undefined, 5000, 'the worker to stop');
      expect(ended()!.payload).toMatchObject({ reason: 'recycle', signal: null });
      await eventually(() => named(seen, SnakepitEvent.WorkerRecycled).some((e) => e.payload.workerId === ran), 5000, 'its successor');
      expect(named(seen, SnakepitEvent.WorkerRecycled).find((e) => e.payload.workerId === ran)!.payload.reason).toBe('ttl');
    });

    it('recycles a worker whose resident memory passes memoryLimitMb', async () => {
      app = await bootApp({ poolSize: 1, heartbeat: { intervalMs: 100 }, recycle: { memoryLimitMb: 120 } });
      const seen = recordEvents(app);
      await app.pool.ready();
      const [first] = app.pool.listWorkers();
      await app.pool.execute('allocate', { mb: 150 });
      await eventually(() => named(seen, SnakepitEvent.WorkerRecycled).length > 0, 5000, 'a memory recycle');
      expect(named(seen, SnakepitEvent.WorkerRecycled)[0].payload).toMatchObject({ workerId: first.id, reason: 'memory' });
      await eventually(() => !isAlive(first.pid!), 5000, 'the old worker to stop');
      expect(await app.pool.execute('add', { a: 1, b: 1 })).toBe(2);
    });

    it('recycles by hand: the session and its queued strict call follow the successor', async () => {
      app = await bootApp({ poolSize: 2, affinity: 'strictQueue' });
      await app.pool.ready();
      const sessions = app.module.get(SessionService);
      const { id } = await sessions.create();
      const busy = app.pool.executeInSession<{ pid: number }>(id, 'sleep', { ms: 1500 });
      await eventually(() => app!.pool.stats().busy === 1, 5000, 'the session call to run');
      const old = app.pool.listWorkers().find((w) => w.inFlight === 1)!;
      const others = app.pool.listWorkers().filter((w) => w.id !== old.id).map((w) => w.id);
      const queued = app.pool.executeInSession<number>(id, 'pid');
      const recycled = app.pool.recycle(old.id);
      expect((await busy).pid).toBe(old.pid); // the running call finishes on the old worker
      await recycled;
      const ranOn = await queued;
      const successor = app.pool.listWorkers().find((w) => w.pid === ranOn)!;
      expect([old.id, ...others]).not.toContain(successor.id); // the new worker, not the other one
      expect((await sessions.get(id)).workers.default).toBe(successor.id);
      await eventually(() => !isAlive(old.pid!), 5000, 'the old worker to stop');
      expect(await rejectionOf(app.pool.recycle('default-99'))).toBeInstanceOf(WorkerNotFoundError);
    });

    it('replaces a successor that fails to start; the replacement takes over the session', async () => {
      app = await bootApp({ poolSize: 1, affinity: 'strictQueue', env: { SHOWCASE_FAIL_WORKERS: 'default-2' }, restart: { backoffMs: 10 } });
      const seen = recordEvents(app);
      const { id } = await app.module.get(SessionService).create();
      await app.pool.executeInSession(id, 'ping'); // binds the session to default-1
      const recycled = app.pool.recycle('default-1');
      const waiting = app.pool.executeInSession<number>(id, 'pid'); // waits for default-1's heir
      expect(await rejectionOf(recycled)).toMatchObject({ code: 'worker_start_failed', workerId: 'default-2' });
      const ranOn = await waiting;
      expect(app.pool.listWorkers().find((w) => w.pid === ranOn)?.id).toBe('default-3');
      expect(named(seen, SnakepitEvent.WorkerRestarted)[0].payload).toMatchObject({ workerId: 'default-3', replaces: 'default-1' });
      expect(named(seen, SnakepitEvent.WorkerRecycled).map((e) => e.payload)).toEqual([
        expect.objectContaining({ workerId: 'default-1', reason: 'manual', successorId: 'default-3' }),
      ]);
      expect((await app.module.get(SessionService).get(id)).workers.default).toBe('default-3');
    });
  });

  describe('crash barrier', () => {
    it('retries an idempotent call on another worker and taints the replacement', async () => {
      app = await bootApp({ poolSize: 2, crashBarrier: { taintMs: 60_000, retryBackoffMs: 10 } });
      const seen = recordEvents(app);
      await app.pool.ready();
      const result = await app.pool.execute<{ survived: boolean; pid: number }>('crash_once', { marker: marker('a'), mode: 'segfault' }, { idempotent: true });
      expect(result.survived).toBe(true);
      const crashed = named(seen, SnakepitEvent.WorkerCrashed)[0].payload;
      expect(crashed).toMatchObject({ classification: 'segfault', signal: 'SIGSEGV', inFlight: true });
      expect(result.pid).not.toBe(crashed.pid);
      expect(named(seen, SnakepitEvent.CallRetried).map((e) => e.payload)).toEqual([
        expect.objectContaining({ tool: 'crash_once', attempt: 1, code: 'worker_crashed' }),
      ]);
      // The tainted replacement starts but gets no work: every call goes to the healthy worker.
      // (A forked replacement's events follow its pid, which its template reports a moment later.)
      await eventually(() => named(seen, SnakepitEvent.WorkerTainted).length > 0, 10_000, 'the taint');
      const tainted = named(seen, SnakepitEvent.WorkerTainted)[0].payload;
      await eventually(() => app!.pool.listWorkers().some((w) => w.id === tainted.workerId && w.state === 'ready'), 10_000, 'the replacement');
      const pids = await Promise.all(Array.from({ length: 4 }, () => app!.pool.execute<number>('pid')));
      expect(new Set(pids)).toEqual(new Set([result.pid]));
      expect(app.pool.stats()).toMatchObject({ retries: 1, crashes: 1 });
    });

    it('fails a call that is not idempotent with the crash, classified', async () => {
      app = await bootApp({ poolSize: 1, crashBarrier: { taintMs: 0 } });
      for (const [mode, classification, signal] of [['abort', 'abort', 'SIGABRT'], ['kill', 'killed', 'SIGKILL'], ['exit', 'other', null]]) {
        const error = await rejectionOf(app.pool.execute('crash_once', { marker: marker(`n-${mode}`), mode }));
        expect(error).toBeInstanceOf(WorkerCrashError);
        expect(error).toMatchObject({ classification, signal });
      }
      expect(app.pool.stats().retries).toBe(0);
    });

    it('gives up after maxRetries and fails with the last crash', async () => {
      app = await bootApp({ poolSize: 2, crashBarrier: { taintMs: 0, maxRetries: 2, retryBackoffMs: 1 }, restart: { maxRestarts: 100 } });
      const seen = recordEvents(app);
      const error = await rejectionOf(app.pool.execute('crash', { code: 3 }, { idempotent: true }));
      expect(error).toBeInstanceOf(WorkerCrashError);
      expect(error.exitCode).toBe(3);
      expect(named(seen, SnakepitEvent.CallRetried).map((e) => e.payload.attempt)).toEqual([1, 2]);
    });

    it('retries an idempotent stream that crashed before its first chunk, not one that crashed later', async () => {
      app = await bootApp({ poolSize: 2, crashBarrier: { taintMs: 0, retryBackoffMs: 1 } });
      const chunks: unknown[] = [];
      for await (const chunk of app.pool.executeStream('crash_once_stream', { marker: marker('s'), n: 3 }, { idempotent: true })) chunks.push(chunk.data);
      expect(chunks).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
      const late: unknown[] = [];
      const error = await rejectionOf(
        (async () => {
          for await (const chunk of app!.pool.executeStream('stream_then_crash', { n: 2 }, { idempotent: true })) late.push(chunk.data);
        })(),
      );
      expect(error).toBeInstanceOf(WorkerCrashError);
      expect(late).toEqual([{ i: 0 }, { i: 1 }]);
      expect(app.pool.stats().retries).toBe(1);
    });
  });

  describe('start-up faults', () => {
    it('fails only the broken pools, fast, with Python\'s last lines; the healthy pool serves', async () => {
      app = await bootApp({
        poolSize: 1,
        pools: [
          { name: 'good' },
          { name: 'badImport', adapter: 'snakepit_showcase.no_such_module:Adapter' },
          { name: 'noPython', pythonExecutable: join(scratch, 'no-python') },
          { name: 'neverReady', startupTimeoutMs: 500, env: { SHOWCASE_START_DELAY_MS: '30000' } },
        ],
      });
      expect(await app.pool.execute('add', { a: 1, b: 2 }, { pool: 'good' })).toBe(3);
      const badImport = await rejectionOf(app.pool.ready('badImport'));
      expect(badImport).toMatchObject({ code: 'worker_start_failed', pythonType: 'ModuleNotFoundError' });
      expect(badImport.lastOutput.join('\n')).toMatch(/no_such_module/);
      expect((await rejectionOf(app.pool.ready('noPython'))).message).toMatch(/was not found.*SNAKEPIT_PYTHON/s);
      expect((await rejectionOf(app.pool.ready('neverReady'))).message).toMatch(/not ready after 500 ms/);
      expect(await rejectionOf(app.pool.execute('ping', {}, { pool: 'badImport' }))).toBe(badImport);
      expect(app.pool.stats('good').status).toBe('ready');
    });
  });

  it('emits a worker crash as crashed, terminated, restarted, then spawned and ready for the replacement', async () => {
    app = await bootApp({ poolSize: 1, crashBarrier: { taintMs: 0 } });
    await app.pool.ready();
    const seen = recordEvents(app);
    const [worker] = app.pool.listWorkers();
    await rejectionOf(app.pool.execute('crash', { code: 2 }));
    await eventually(() => named(seen, SnakepitEvent.WorkerReady).length === 1, 10_000, 'the replacement');
    const replacement = named(seen, SnakepitEvent.WorkerReady)[0].payload.workerId;
    const lifecycle = seen.filter((e) => e.event.startsWith('snakepit.worker.'));
    expect(lifecycle.map((e) => [e.event, e.payload.workerId])).toEqual([
      [SnakepitEvent.WorkerCrashed, worker.id],
      [SnakepitEvent.WorkerTerminated, worker.id],
      [SnakepitEvent.WorkerSpawned, replacement],
      [SnakepitEvent.WorkerRestarted, replacement],
      [SnakepitEvent.WorkerReady, replacement],
    ]);
    expect(lifecycle[0].payload).toMatchObject({ pool: 'default', pid: worker.pid, exitCode: 2, signal: null, classification: 'other', inFlight: true });
    // A death under a call is not counted against the restart budget.
    expect(lifecycle[3].payload).toMatchObject({ replaces: worker.id, delayMs: 0, restartsInWindow: 0 });
  });
});
