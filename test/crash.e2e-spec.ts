import { WorkerCrashError, WorkerProtocolError } from '@snakepit/nestjs';
import { bootApp, rejectionOf, type TestApp } from './support/app';
import { eventually, isAlive } from './support/processes';

describe('worker crashes', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await bootApp({ poolSize: 2 });
    await app.pool.ready();
  });
  afterAll(() => app.close());

  const fullSizeAgain = () =>
    eventually(() => app.pool.stats().workers.ready === 2, 10_000, 'the pool to be back to 2 ready workers');

  it('fails the call with WorkerCrashError when the test SIGKILLs its worker mid-call, and replaces the worker', async () => {
    const call = app.pool.execute('sleep', { ms: 10_000 });
    await eventually(() => app.pool.listWorkers().some((w) => w.inFlight === 1), 5000, 'the call to start');
    const victim = app.pool.listWorkers().find((w) => w.inFlight === 1)!;
    process.kill(victim.pid!, 'SIGKILL');
    const error = await rejectionOf(call);
    expect(error).toBeInstanceOf(WorkerCrashError);
    expect(error).toMatchObject({ code: 'worker_crashed', signal: 'SIGKILL', exitCode: null, workerId: victim.id });
    expect(error.message).toContain('sleep');
    await fullSizeAgain();
    expect(app.pool.listWorkers().map((w) => w.pid)).not.toContain(victim.pid);
    expect(isAlive(victim.pid!)).toBe(false);
    await expect(app.pool.execute('add', { a: 1, b: 1 })).resolves.toBe(2);
  });

  it('replaces a worker whose channel breaks while it lives: its call fails as a protocol fault, not a crash', async () => {
    const before = app.pool.listWorkers().map((w) => w.pid);
    const crashes = app.pool.stats().crashes;
    const error = await rejectionOf(app.pool.execute('break_channel'));
    expect(error).toBeInstanceOf(WorkerProtocolError);
    expect(error).toMatchObject({ code: 'worker_protocol_error' });
    await eventually(
      () => app.pool.listWorkers().filter((w) => w.state === 'ready' && !before.includes(w.pid)).length === 1 && app.pool.stats().workers.ready === 2,
      10_000,
      'the worker to be replaced',
    );
    const victim = before.find((pid) => !app.pool.listWorkers().some((w) => w.pid === pid))!;
    await eventually(() => !isAlive(victim), 5000, 'the old worker to be gone');
    expect(app.pool.stats().crashes).toBe(crashes);
    await expect(app.pool.execute('add', { a: 1, b: 1 })).resolves.toBe(2);
  });

  it('carries the exit code of a worker that exits', async () => {
    const error = await rejectionOf(app.pool.execute('crash', { mode: 'exit', code: 3 }));
    expect(error).toBeInstanceOf(WorkerCrashError);
    expect(error).toMatchObject({ exitCode: 3, signal: null });
    await fullSizeAgain();
  });

  it('carries the signal of a real segfault, with Python’s last words', async () => {
    const error = await rejectionOf(app.pool.execute('crash', { mode: 'segfault' }));
    expect(error).toBeInstanceOf(WorkerCrashError);
    expect(error.signal).toBe('SIGSEGV');
    expect(error.lastOutput.join('\n')).toContain('Fatal Python error: Segmentation fault');
    await fullSizeAgain();
    expect(app.pool.stats().crashes).toBeGreaterThanOrEqual(3);
    expect(app.pool.stats().restarts).toBeGreaterThanOrEqual(3);
  });

  it('carries SIGABRT from os.abort()', async () => {
    const error = await rejectionOf(app.pool.execute('crash', { mode: 'abort' }));
    expect(error).toBeInstanceOf(WorkerCrashError);
    expect(error.signal).toBe('SIGABRT');
    await fullSizeAgain();
  });

  it('kills what the crashed worker had started', async () => {
    const child = await app.pool.execute<number>('spawn_sleeper', { ignore_sigterm: true });
    const worker = app.pool.listWorkers().find((w) => w.requests > 0 && w.inFlight === 0)!;
    process.kill(worker.pid!, 'SIGKILL');
    await eventually(() => !isAlive(child), 5000, `the tool's child ${child} to die with its worker`);
    await fullSizeAgain();
  });

  it('kills what the crashed worker had started in a session of its own', async () => {
    const child = await app.pool.execute<number>('spawn_sleeper', { ignore_sigterm: true, new_session: true });
    const worker = app.pool.listWorkers().find((w) => w.requests > 0 && w.inFlight === 0)!;
    process.kill(worker.pid!, 'SIGKILL');
    await eventually(() => !isAlive(child), 5000, `the tool's child ${child} to die with its worker`);
    await fullSizeAgain();
  });

  it('keeps serving other calls while a worker crashes', async () => {
    const results = await Promise.allSettled([
      app.pool.execute('crash', { mode: 'exit', code: 1 }),
      ...Array.from({ length: 10 }, (_, i) => app.pool.execute('echo', { i })),
    ]);
    expect(results[0].status).toBe('rejected');
    expect(results.slice(1).map((r) => r.status)).toEqual(Array(10).fill('fulfilled'));
    await fullSizeAgain();
  });
});
