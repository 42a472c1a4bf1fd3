import { Inject, Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { BoundPool, InjectPool, PoolNotFoundError, poolToken, SnakepitModule } from '@snakepit/nestjs';
import { bootApp, rejectionOf, SHOWCASE, silentLogger, type TestApp } from './support/app';
import { runTypeScript, type RunningChild } from './support/child-process';
import { eventually, processesOfRun, processesWithEnv, workersOfRun } from './support/processes';

@Injectable()
class TwoPools {
  constructor(
    @InjectPool('gpu') readonly gpu: BoundPool,
    @InjectPool('cpu') readonly cpu: BoundPool,
    @InjectPool() readonly fallback: BoundPool,
    @InjectPool('missing') readonly missing: BoundPool,
  ) {}
}

describe('@InjectPool', () => {
  let app: TestApp | undefined;
  afterEach(async () => {
    await app?.close();
  });

  it('injects a facade bound to one pool; a broken pool does not block the healthy one', async () => {
    app = await bootApp(
      {
        poolSize: 1,
        pools: [
          { name: 'cpu' },
          { name: 'gpu', workerProfile: 'thread', threadsPerWorker: 2 },
          { name: 'broken', adapter: 'snakepit_showcase.no_such_module:Adapter' },
        ],
      },
      { providers: [TwoPools] },
    );
    const pools = app.module.get(TwoPools);
    expect(await pools.cpu.execute('add', { a: 1, b: 2 })).toBe(3);
    expect(await pools.gpu.execute('add', { a: 2, b: 2 })).toBe(4);
    expect(pools.gpu.stats().pool).toBe('gpu');
    expect(pools.cpu.listWorkers()[0].pool).toBe('cpu');
    // No pool is named "default" and there are three: the unnamed facade and an unknown name say so.
    expect(await rejectionOf(pools.fallback.execute('ping'))).toBeInstanceOf(PoolNotFoundError);
    expect(await rejectionOf(pools.missing.execute('ping'))).toBeInstanceOf(PoolNotFoundError);
    expect((await rejectionOf(app.pool.ready('broken'))).code).toBe('worker_start_failed');
  });
});

describe('SnakepitModule.forFeature', () => {
  it('provides @InjectPool facades under forRootAsync, whatever the load order', async () => {
    // The token itself, not @InjectPool: @InjectPool would also have registered the name.
    @Injectable()
    class LateUser {
      constructor(@Inject(poolToken('late')) readonly late: BoundPool) {}
    }
    const module = await Test.createTestingModule({
      imports: [
        SnakepitModule.forRootAsync({ useFactory: () => ({ adapter: SHOWCASE, pools: [{ name: 'late', poolSize: 1 }] }) }),
        SnakepitModule.forFeature(['late']),
      ],
      providers: [LateUser],
    })
      .setLogger(silentLogger)
      .compile();
    await module.init();
    try {
      expect(await module.get(LateUser).late.execute('add', { a: 20, b: 22 })).toBe(42);
    } finally {
      await module.close();
    }
  });
});

describe('runAsScript', () => {
  let script: RunningChild | undefined;
  afterEach(() => {
    if (script && script.child.exitCode === null) script.child.kill('SIGKILL');
  });

  const run = (mode: string, token = '') => runTypeScript('test/fixtures/script.ts', { MODE: mode, SCRIPT_TOKEN: token });
  const runIdOf = async (child: RunningChild) => (await child.line(/^RUN /)).slice(4).trim();

  it('runs the function, closes the pool and exits 0', async () => {
    script = run('ok');
    const runId = await runIdOf(script);
    expect(await script.exited).toEqual({ code: 0, signal: null });
    expect(script.output()).toContain('RESULT 5');
    expect(processesOfRun(runId)).toEqual([]);
  });

  it('exits 1 with the error printed when the function throws, leaving no worker', async () => {
    script = run('throw');
    const runId = await runIdOf(script);
    expect(await script.exited).toEqual({ code: 1, signal: null });
    expect(script.output()).toContain('the script failed on purpose');
    expect(processesOfRun(runId)).toEqual([]);
  });

  it('closes the pool on SIGINT during a call and exits 130, leaving no worker', async () => {
    script = run('wait');
    const runId = await runIdOf(script);
    await eventually(() => workersOfRun(runId).length === 1, 5000, 'the worker');
    script.child.kill('SIGINT');
    expect(await script.exited).toEqual({ code: 130, signal: null });
    expect(processesOfRun(runId)).toEqual([]);
  });

  it('exits 143 on SIGTERM', async () => {
    script = run('wait');
    const runId = await runIdOf(script);
    await eventually(() => workersOfRun(runId).length === 1, 5000, 'the worker');
    script.child.kill('SIGTERM');
    expect(await script.exited).toEqual({ code: 143, signal: null });
    expect(processesOfRun(runId)).toEqual([]);
  });

  it('stops a pool that is still booting when SIGINT comes, and exits 130', async () => {
    const token = `SCRIPT_TOKEN=boot-${process.pid}-${Date.now()}`;
    script = run('slow-boot', token.split('=')[1]);
    await script.line(/^STARTING/);
    // The script itself carries the token too: wait for the worker beside it.
    const worker = () => processesWithEnv(token).filter((pid) => pid !== script!.child.pid);
    await eventually(() => worker().length === 1, 10_000, 'the slow worker');
    script.child.kill('SIGINT');
    expect(await script.exited).toEqual({ code: 130, signal: null });
    expect(script.output()).not.toContain('RUN ');
    await eventually(() => worker().length === 0, 3000, 'no worker left');
  });
});
