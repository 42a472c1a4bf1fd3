import { Injectable, Logger } from '@nestjs/common';
import { EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { SessionService, SnakepitEvent, SnakepitEvents } from '@snakepit/nestjs';
import { SnakepitHealthIndicator, SnakepitHealthModule } from '@snakepit/nestjs/health';
import { bootApp, rejectionOf, type TestApp } from './support/app';
import { eventually } from './support/processes';

/** What @OnEvent handlers see, from the very start of the app. */
@Injectable()
class Listener {
  static seen: Array<[string, any]> = [];
  @OnEvent(SnakepitEvent.WorkerSpawned) spawned(p: any) { Listener.seen.push([SnakepitEvent.WorkerSpawned, p]); }
  @OnEvent(SnakepitEvent.WorkerReady) ready(p: any) { Listener.seen.push([SnakepitEvent.WorkerReady, p]); }
  @OnEvent(SnakepitEvent.PoolReady) poolReady(p: any) { Listener.seen.push([SnakepitEvent.PoolReady, p]); }
  @OnEvent(SnakepitEvent.WorkerCrashed) crashed(p: any) { Listener.seen.push([SnakepitEvent.WorkerCrashed, p]); }
  @OnEvent(SnakepitEvent.WorkerTerminated) terminated(p: any) { Listener.seen.push([SnakepitEvent.WorkerTerminated, p]); }
  @OnEvent(SnakepitEvent.WorkerRestarted) restarted(p: any) { Listener.seen.push([SnakepitEvent.WorkerRestarted, p]); }
  @OnEvent(SnakepitEvent.RequestFinished) finished(p: any) { Listener.seen.push([SnakepitEvent.RequestFinished, p]); }
  @OnEvent(SnakepitEvent.RequestFailed) failed(p: any) { Listener.seen.push([SnakepitEvent.RequestFailed, p]); }
}

const withEmitter = { imports: [EventEmitterModule.forRoot()], providers: [Listener] };

describe('telemetry', () => {
  let app: TestApp | undefined;
  beforeEach(() => {
    Listener.seen = [];
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });
  const names = () => Listener.seen.map(([event]) => event);

  describe('events through @nestjs/event-emitter', () => {
    it('delivers the boot events to @OnEvent handlers, in order', async () => {
      app = await bootApp({ poolSize: 2, waitForReady: true }, withEmitter); // every boot event happens before @OnEvent is bound
      await app.pool.ready();
      await eventually(() => names().includes(SnakepitEvent.PoolReady), 5000, 'pool.ready to arrive');
      expect(names().filter((n) => n === SnakepitEvent.WorkerSpawned)).toHaveLength(2);
      expect(names().filter((n) => n === SnakepitEvent.WorkerReady)).toHaveLength(2);
      expect(names().indexOf(SnakepitEvent.WorkerSpawned)).toBe(0);
      expect(Listener.seen.at(-1)).toEqual([SnakepitEvent.PoolReady, { pool: 'default', workers: 2 }]);
    });

    it('reports a worker crash in order, with its payloads, and each request with its timings', async () => {
      app = await bootApp({ poolSize: 1, crashBarrier: { taintMs: 0 } }, withEmitter);
      await app.pool.ready();
      expect(await app.pool.execute('add', { a: 1, b: 2 })).toBe(3);
      await rejectionOf(app.pool.execute('crash', { code: 9 }));
      await eventually(() => names().filter((n) => n === SnakepitEvent.WorkerReady).length === 2, 10_000, 'the replacement');
      const after = Listener.seen.slice(names().indexOf(SnakepitEvent.PoolReady) + 1);
      const order = after.map(([event]) => event);
      // The worker's story is strictly ordered; the failed call is reported once Python's last words are in.
      expect(order.filter((e) => e !== SnakepitEvent.RequestFailed)).toEqual([
        SnakepitEvent.RequestFinished,
        SnakepitEvent.WorkerCrashed,
        SnakepitEvent.WorkerTerminated,
        SnakepitEvent.WorkerSpawned,
        SnakepitEvent.WorkerRestarted,
        SnakepitEvent.WorkerReady,
      ]);
      expect(order.indexOf(SnakepitEvent.RequestFailed)).toBeGreaterThan(order.indexOf(SnakepitEvent.WorkerTerminated));
      const payload = (event: string) => after.find(([e]) => e === event)![1];
      const finished = payload(SnakepitEvent.RequestFinished);
      const failed = payload(SnakepitEvent.RequestFailed);
      expect(finished).toMatchObject({ pool: 'default', tool: 'add', ran: true, attempts: 1, cancelled: false });
      expect(finished.queueWaitMs + finished.executionMs).toBeCloseTo(finished.durationMs, 6);
      expect(finished.executionMs).toBeGreaterThan(0);
      expect(payload(SnakepitEvent.WorkerCrashed)).toMatchObject({ pool: 'default', workerId: 'default-1', exitCode: 9, signal: null, classification: 'other', inFlight: true });
      expect(payload(SnakepitEvent.WorkerTerminated)).toMatchObject({ workerId: 'default-1', reason: 'crash', exitCode: 9 });
      expect(payload(SnakepitEvent.WorkerRestarted)).toMatchObject({ workerId: 'default-2', replaces: 'default-1', delayMs: 0 });
      expect(failed).toMatchObject({ tool: 'crash', code: 'worker_crashed', ran: true });
    });
  });

  describe('events from Python', () => {
    it('re-emits self.emit(name, measurements, metadata) as snakepit.python.<name> with the worker and session', async () => {
      app = await bootApp({ poolSize: 1 }, withEmitter);
      await app.pool.ready();
      const events = app.module.get(SnakepitEvents);
      const seen: any[] = [];
      events.on('snakepit.python.model.loaded', (payload) => seen.push(payload));
      await app.pool.execute('emit_event', { name: 'model.loaded', measurements: { ms: 12.5 }, metadata: { model: 'tiny' } });
      await eventually(() => seen.length === 1, 5000, 'the first event'); // emit does not wait: keep the order certain
      const { id } = await app.module.get(SessionService).create('s-telemetry');
      await app.pool.executeInSession(id, 'emit_event', { name: 'model.loaded' });
      await eventually(() => seen.length === 2, 5000, 'both events');
      const [worker] = app.pool.listWorkers();
      expect(seen).toEqual([
        { workerId: worker.id, sessionId: undefined, measurements: { ms: 12.5 }, metadata: { model: 'tiny' } },
        { workerId: worker.id, sessionId: 's-telemetry', measurements: {}, metadata: {} },
      ]);
      const bad = await rejectionOf(app.pool.execute('emit_event', { name: 'no spaces' }));
      expect(bad).toMatchObject({ code: 'python_value_error' });
    });
  });

  describe('Python output', () => {
    it('goes to Nest\'s Logger under the worker id, at pythonLogLevel (stderr at least warn)', async () => {
      const lines: Array<[string, string, string]> = [];
      const capture = (level: string) => (message: unknown, context?: string) => lines.push([level, String(context), String(message)]);
      app = await bootApp({ poolSize: 1, pythonLogLevel: 'debug' }); // it sets a silent logger: capture after it
      Logger.overrideLogger({ log: capture('log'), error: capture('error'), warn: capture('warn'), debug: capture('debug'), verbose: capture('verbose'), fatal: capture('fatal') });
      try {
        await app.pool.execute('say', { text: 'hello from stdout' });
        await app.pool.execute('say', { text: 'hello from stderr', stream: 'stderr' });
        const [worker] = app.pool.listWorkers();
        await eventually(() => lines.some(([, , m]) => m === 'hello from stderr'), 5000, 'the printed lines');
        expect(lines.filter(([, , m]) => m.startsWith('hello'))).toEqual([
          ['debug', `Snakepit:${worker.id}`, 'hello from stdout'],
          ['warn', `Snakepit:${worker.id}`, 'hello from stderr'],
        ]);
      } finally {
        Logger.overrideLogger(false);
      }
    });
  });

  describe('health indicator', () => {
    it('is down while booting and after the pool failed, degraded while a worker restarts, up otherwise', async () => {
      app = await bootApp(
        { poolSize: 2, env: { SHOWCASE_START_DELAY_MS: '300' }, restart: { maxRestarts: 1, cooldownMs: 600_000 }, crashBarrier: { taintMs: 0 } },
        { imports: [SnakepitHealthModule] },
      );
      const indicator = app.module.get(SnakepitHealthIndicator);
      expect(indicator.isHealthy()).toEqual({ snakepit: { status: 'down', pools: { default: { state: 'down', status: 'starting', ready: 0, size: 2 } } } });
      await app.pool.ready();
      expect(indicator.isHealthy('python')).toEqual({ python: { status: 'up', pools: { default: { state: 'up', status: 'ready', ready: 2, size: 2 } } } });

      // Idle workers that die count against the restart budget (a death under a call does not).
      const killIdle = () => process.kill(app!.pool.listWorkers().find((w) => w.state === 'ready' && w.inFlight === 0)!.pid!, 'SIGKILL');
      killIdle(); // one worker dies; its replacement takes 300 ms to start
      await eventually(() => app!.pool.stats().workers.ready === 1, 5000, 'the crash to be seen');
      expect(indicator.isHealthy().snakepit).toMatchObject({ status: 'degraded', pools: { default: { state: 'degraded', ready: 1 } } });
      expect(indicator.isHealthy('snakepit', { minReadyRatio: 0.5 }).snakepit.status).toBe('up');
      await eventually(() => indicator.isHealthy().snakepit.status === 'up', 5000, 'the replacement');

      killIdle(); // the second replacement is over budget: the pool fails
      await eventually(() => app!.pool.stats().status === 'failed', 5000, 'the pool to fail');
      expect(indicator.isHealthy().snakepit).toMatchObject({ status: 'down', pools: { default: { state: 'down', status: 'failed' } } });
      expect(indicator.isHealthy('snakepit', { pool: 'nope' }).snakepit).toMatchObject({ status: 'down', message: expect.stringMatching(/No pool named "nope"/) });
    });
  });

  describe('metrics', () => {
    it('keeps queue wait and execution histograms per pool and per tool', async () => {
      app = await bootApp({ poolSize: 1 });
      await app.pool.ready();
      await Promise.all(Array.from({ length: 10 }, () => app!.pool.execute('sleep', { ms: 20 })));
      await rejectionOf(app.pool.execute('raise_error'));
      const { latency, tools } = app.pool.stats();
      expect(latency.executionMs.count).toBe(11);
      expect(tools.sleep).toMatchObject({ calls: 10, errors: 0 });
      expect(tools.raise_error).toMatchObject({ calls: 1, errors: 1 });
      // One worker ran them one after another: each took at least 20 ms, and the last waited for nine others.
      expect(tools.sleep.executionMs.p50).toBeGreaterThanOrEqual(20);
      expect(tools.sleep.queueWaitMs.p99).toBeGreaterThanOrEqual(9 * 20);
      expect(tools.sleep.queueWaitMs.p50).toBeLessThanOrEqual(tools.sleep.queueWaitMs.p99);
      expect(tools.sleep.executionMs.sum).toBeGreaterThanOrEqual(200);
    });
  });
});
