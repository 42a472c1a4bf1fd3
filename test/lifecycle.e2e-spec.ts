import { Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  PoolClosedError,
  PoolNotFoundError,
  PoolService,
  PoolingDisabledError,
  SnakepitConfigError,
  SnakepitModule,
  WorkerStartError,
  type SnakepitModuleOptions,
} from '@snakepit/nestjs';
import { bootApp, rejectionOf, SHOWCASE, silentLogger } from './support/app';
import { eventually, isAlive, workersOfRun } from './support/processes';

@Injectable()
class WarmUpAtBoot implements OnModuleInit {
  result: unknown;
  constructor(private readonly pool: PoolService) {}
  async onModuleInit() {
    this.result = await this.pool.execute('add', { a: 20, b: 22 });
  }
}

describe('lifecycle', () => {
  it('fails boot with one error naming every bad field', async () => {
    const error = await rejectionOf(
      bootApp({ adapter: 'not valid', poolSize: -1, queue: { maxSize: 'many' as any }, bogus: true } as any),
    );
    expect(error).toBeInstanceOf(SnakepitConfigError);
    expect(error.code).toBe('config_invalid');
    expect(error.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^adapter /),
        expect.stringMatching(/^poolSize /),
        expect.stringMatching(/^queue\.maxSize /),
        'bogus is not a known option',
      ]),
    );
  });

  it('lets a host provider use the pool in its own onModuleInit', async () => {
    const app = await bootApp({ poolSize: 1 }, { providers: [WarmUpAtBoot] });
    try {
      expect(app.module.get(WarmUpAtBoot).result).toBe(42);
    } finally {
      await app.close();
    }
  });

  it('waits for every worker during init with waitForReady', async () => {
    const app = await bootApp({ poolSize: 3, waitForReady: true });
    try {
      expect(app.pool.stats().workers).toMatchObject({ total: 3, ready: 3 });
      expect(workersOfRun(app.runId)).toHaveLength(3);
    } finally {
      await app.close();
    }
  });

  it('leaves no Python process behind after close', async () => {
    const app = await bootApp({ poolSize: 3 });
    await app.pool.ready();
    const pids = workersOfRun(app.runId);
    expect(pids).toHaveLength(3);
    await app.close();
    expect(workersOfRun(app.runId)).toEqual([]);
  });

  it('starts no worker when the app closes before its pools have started', async () => {
    const app = await bootApp({ poolSize: 2 });
    await app.close(); // the pools still wait for the orphan reaping and the host bridge
    expect(await rejectionOf(app.pool.ready())).toBeInstanceOf(PoolClosedError);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(workersOfRun(app.runId)).toEqual([]);
  });

  it('lets in-flight and queued calls finish within the grace period, then refuses new ones', async () => {
    const app = await bootApp({ poolSize: 1, shutdown: { graceMs: 5000 } });
    await app.pool.ready();
    const inFlight = app.pool.execute('sleep', { ms: 300 });
    const queued = app.pool.execute('add', { a: 1, b: 2 });
    const closing = app.close();
    await eventually(() => app.pool.stats().status === 'closing', 2000, 'the pool to start closing');
    await expect(app.pool.execute('ping')).rejects.toBeInstanceOf(PoolClosedError);
    await expect(inFlight).resolves.toMatchObject({ slept_ms: 300 });
    await expect(queued).resolves.toBe(3);
    await closing;
    expect(workersOfRun(app.runId)).toEqual([]);
  });

  it('stops calls that outlast the grace period and still leaves nothing behind', async () => {
    const app = await bootApp({ poolSize: 1, shutdown: { graceMs: 200, killTimeoutMs: 500 } });
    await app.pool.ready();
    const stuck = rejectionOf(app.pool.execute('sleep', { ms: 60_000 }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await app.close();
    const error = await stuck;
    expect(error).toBeInstanceOf(PoolClosedError);
    expect(workersOfRun(app.runId)).toEqual([]);
  });

  it('leaves no process that a tool started behind, even one that ignores SIGTERM', async () => {
    const app = await bootApp({ poolSize: 1 });
    const child = await app.pool.execute<number>('spawn_sleeper', { ignore_sigterm: true });
    expect(isAlive(child)).toBe(true);
    await app.close();
    await eventually(() => !isAlive(child), 2000, `the tool's child ${child} to die`);
  });

  it('leaves no process behind that a tool started in a session of its own (out of the process group)', async () => {
    const app = await bootApp({ poolSize: 1 });
    const child = await app.pool.execute<number>('spawn_sleeper', { ignore_sigterm: true, new_session: true });
    expect(isAlive(child)).toBe(true);
    await app.close();
    expect(isAlive(child)).toBe(false);
  });

  it('routes calls to named pools', async () => {
    const app = await bootApp({ adapter: undefined, pools: [{ name: 'small', adapter: SHOWCASE, poolSize: 1 }, { name: 'big', adapter: SHOWCASE, poolSize: 2 }] });
    try {
      await app.pool.ready();
      expect(app.pool.listPools()).toEqual(['small', 'big']);
      const small = await app.pool.execute<number>('pid', {}, { pool: 'small' });
      expect(app.pool.listWorkers('small').map((w) => w.pid)).toEqual([small]);
      expect(app.pool.listWorkers('big')).toHaveLength(2);
      expect(app.pool.stats('big').requests).toBe(0);
      await expect(app.pool.execute('ping', {}, { pool: 'nope' })).rejects.toBeInstanceOf(PoolNotFoundError);
      // Several pools and none named "default": the pool must be named.
      await expect(app.pool.execute('ping')).rejects.toThrow(/Configured pools: small, big/);
    } finally {
      await app.close();
    }
  });

  it('keeps two apps in one Node process apart', async () => {
    const first = await bootApp({ poolSize: 2 });
    const second = await bootApp({ poolSize: 2 });
    try {
      await Promise.all([first.pool.ready(), second.pool.ready()]);
      expect(first.runId).not.toBe(second.runId);
      const secondPids = workersOfRun(second.runId);
      expect(secondPids).toHaveLength(2);
      await first.close();
      expect(workersOfRun(first.runId)).toEqual([]);
      expect(workersOfRun(second.runId).sort()).toEqual(secondPids.sort());
      await expect(second.pool.execute('add', { a: 2, b: 3 })).resolves.toBe(5);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('builds options with forRootAsync', async () => {
    @Module({ providers: [{ provide: 'POOL_SIZE', useValue: 1 }], exports: ['POOL_SIZE'] })
    class ConfigModule {}
    const module = await Test.createTestingModule({
      imports: [
        SnakepitModule.forRootAsync({
          imports: [ConfigModule],
          inject: ['POOL_SIZE'],
          useFactory: async (poolSize: number) => ({ adapter: SHOWCASE, poolSize }),
        }),
      ],
    })
      .setLogger(silentLogger)
      .compile();
    await module.init();
    try {
      const pool = module.get(PoolService);
      await expect(pool.execute('add', { a: 1, b: 1 })).resolves.toBe(2);
      expect(pool.stats().workers.total).toBe(1);
    } finally {
      await module.close();
    }
  });

  it('builds options with forRootAsync({ useClass })', async () => {
    @Injectable()
    class SnakepitConfig {
      createSnakepitOptions(): SnakepitModuleOptions {
        return { adapter: SHOWCASE, poolSize: 1 };
      }
    }
    const module = await Test.createTestingModule({ imports: [SnakepitModule.forRootAsync({ useClass: SnakepitConfig })] })
      .setLogger(silentLogger)
      .compile();
    await module.init();
    try {
      await expect(module.get(PoolService).execute('add', { a: 2, b: 2 })).resolves.toBe(4);
    } finally {
      await module.close();
    }
  });

  it('starts no worker with poolingEnabled: false, and execute says why', async () => {
    const app = await bootApp({ poolingEnabled: false });
    try {
      await expect(app.pool.ready()).resolves.toBeUndefined();
      await expect(app.pool.execute('ping')).rejects.toBeInstanceOf(PoolingDisabledError);
      expect(workersOfRun(app.runId)).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it('fails the pool start with Python’s own words when the adapter cannot be imported', async () => {
    const app = await bootApp({ adapter: 'no_such_module.adapter:Nope', poolSize: 2 });
    try {
      const error = await rejectionOf(app.pool.ready());
      expect(error).toBeInstanceOf(WorkerStartError);
      expect(error.code).toBe('worker_start_failed');
      expect(error.message).toMatch(/ModuleNotFoundError|No module named/);
      await expect(app.pool.execute('ping')).rejects.toBeInstanceOf(WorkerStartError);
      await eventually(() => workersOfRun(app.runId).length === 0, 5000, 'failed workers to exit');
    } finally {
      await app.close();
    }
  });

  it('fails the whole pool, coherently, when one of its workers cannot start', async () => {
    const app = await bootApp({ poolSize: 2, startupConcurrency: 1, env: { SHOWCASE_FAIL_WORKERS: 'default-2' } });
    try {
      const error = await rejectionOf(app.pool.ready());
      expect(error).toBeInstanceOf(WorkerStartError);
      expect(error.message).toContain('told to fail');
      const call = await rejectionOf(app.pool.execute('ping'));
      expect(call).toBe(error);
      expect(app.pool.stats().status).toBe('failed');
      await eventually(() => workersOfRun(app.runId).length === 0, 5000, 'the started worker to be stopped');
    } finally {
      await app.close();
    }
  });

  it('fails the pool start with a clear error when the interpreter does not exist', async () => {
    const app = await bootApp({ pythonExecutable: '/nonexistent/python3', poolSize: 1 });
    try {
      const error = await rejectionOf(app.pool.ready());
      expect(error).toBeInstanceOf(WorkerStartError);
      expect(error.message).toContain('/nonexistent/python3');
      expect(error.message).toContain('SNAKEPIT_PYTHON');
    } finally {
      await app.close();
    }
  });
});
