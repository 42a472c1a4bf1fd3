import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reapOrphans } from '../libs/snakepit/src/process/orphan-reaper';
import { ProcessRegistry } from '../libs/snakepit/src/process/process-registry';
import { bootApp, rejectionOf, type TestApp } from './support/app';
import { runTypeScript, type RunningChild } from './support/child-process';
import { killAndReapAfterEach } from './support/killed-hosts';
import { eventually, isAlive, parentOf, processesOfRun, processesWith } from './support/processes';

/** The run's template processes: the template's command line whose parent is the host (the
 *  workers forked from it show the same command line, and have the template for parent). */
function templatesOf(runId: string, host = process.pid): number[] {
  return processesWith('snakepit_bridge.template', runId).filter((pid) => parentOf(pid) === host);
}

const FIXTURES = join(__dirname, 'fixtures', 'python');

describe("workers.start: 'fork'", () => {
  let app: TestApp | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('forks the workers from one template per pool; they serve, each leading a process group of its own', async () => {
    app = await bootApp({ poolSize: 3, workers: { start: 'fork' } });
    await app.pool.ready();
    const templates = templatesOf(app.runId);
    expect(templates).toHaveLength(1);
    const workers = app.pool.listWorkers();
    expect(workers).toHaveLength(3);
    for (const { pid } of workers) {
      expect(parentOf(pid!)).toBe(templates[0]);
      const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const stat = text.slice(text.lastIndexOf(')') + 2).split(' ');
      expect(Number(stat[2])).toBe(pid); // its process group
      expect(Number(stat[3])).toBe(pid); // its session
    }
    const pids = await Promise.all(Array.from({ length: 9 }, () => app!.pool.execute<number>('pid')));
    expect(new Set(pids)).toEqual(new Set(workers.map((w) => w.pid)));
    expect(await app.pool.execute('add', { a: 2, b: 3 })).toBe(5);
  });

  it('forks the replacement of a SIGKILLed worker, which serves', async () => {
    app = await bootApp({ poolSize: 2, workers: { start: 'fork' } });
    await app.pool.ready();
    const [template] = templatesOf(app.runId);
    const victim = app.pool.listWorkers()[0];
    process.kill(victim.pid!, 'SIGKILL');
    await eventually(() => app!.pool.stats().workers.ready === 2 && !app!.pool.listWorkers().some((w) => w.id === victim.id), 15_000, 'a replacement');
    const replacement = app.pool.listWorkers().find((w) => w.pid !== victim.pid && w.id !== app!.pool.listWorkers()[1]?.id);
    expect(app.pool.listWorkers().every((w) => parentOf(w.pid!) === template)).toBe(true);
    expect(replacement).toBeDefined();
    expect(app.pool.stats().crashes).toBe(1);
    expect(await app.pool.execute('add', { a: 1, b: 1 })).toBe(2);
  });

  it('a worker that crashes mid-call gives WorkerCrashError with its signal and last output', async () => {
    app = await bootApp({ poolSize: 1, workers: { start: 'fork' } });
    const error = await rejectionOf(app.pool.execute('crash', { mode: 'segfault' }));
    expect(error.code).toBe('worker_crashed');
    expect(error.signal).toBe('SIGSEGV');
    expect(error.lastOutput.join('\n')).toContain('Fatal Python error: Segmentation fault');
    await eventually(() => app!.pool.stats().workers.ready === 1, 15_000, 'the replacement');
    expect(await app.pool.execute('add', { a: 1, b: 2 })).toBe(3);
  });

  it('kills what a forked worker had started in a session of its own, when it dies', async () => {
    app = await bootApp({ poolSize: 1, workers: { start: 'fork' } });
    const child = await app.pool.execute<number>('spawn_sleeper', { ignore_sigterm: true, new_session: true });
    expect(readFileSync(`/proc/${child}/environ`, 'utf8').split('\0')).toContain(`SNAKEPIT_WORKER_ID=${app.pool.listWorkers()[0].id}`);
    process.kill(app.pool.listWorkers()[0].pid!, 'SIGKILL');
    await eventually(() => !isAlive(child), 5000, `the tool's child ${child} to die with its worker`);
  });

  it('starts a SIGKILLed template again; its workers serve on, and replacements fork from the new one', async () => {
    app = await bootApp({ poolSize: 2, workers: { start: 'fork' }, restart: { backoffMs: 0 } });
    await app.pool.ready();
    const [first] = templatesOf(app.runId);
    const before = app.pool.listWorkers().map((w) => w.pid!);
    process.kill(first, 'SIGKILL');
    await eventually(() => templatesOf(app!.runId).some((pid) => pid !== first), 15_000, 'a new template');
    const [second] = templatesOf(app.runId);
    // The old workers live on (orphans of the template, still watching the host).
    expect(before.every(isAlive)).toBe(true);
    expect(await Promise.all(Array.from({ length: 4 }, () => app!.pool.execute('add', { a: 1, b: 1 })))).toEqual([2, 2, 2, 2]);
    // An orphaned worker's death is still noticed, and its replacement forks from the new template.
    process.kill(before[0], 'SIGKILL');
    await eventually(
      () => app!.pool.stats().workers.ready === 2 && !app!.pool.listWorkers().some((w) => w.pid === before[0]),
      15_000,
      'the replacement of an orphaned worker',
    );
    // While the new template starts, replacements are spawned; once it serves, they fork from it.
    const replacement = app.pool.listWorkers().find((w) => w.pid !== before[1])!;
    expect([process.pid, second]).toContain(parentOf(replacement.pid!));
    await eventually(
      async () => {
        const worker = app!.pool.listWorkers().find((w) => w.pid !== before[1])!;
        if (parentOf(worker.pid!) === second) return true;
        await app!.pool.recycle(worker.id);
        return false;
      },
      10_000,
      'a worker forked from the new template',
    );
    expect(await app.pool.execute('add', { a: 2, b: 2 })).toBe(4);
    await app.close();
    expect([...before, second].some(isAlive)).toBe(false);
    expect(processesOfRun(app.runId)).toEqual([]);
  });

  it('recycles by forking the successor', async () => {
    app = await bootApp({ poolSize: 1, workers: { start: 'fork' } });
    await app.pool.ready();
    const [template] = templatesOf(app.runId);
    const old = app.pool.listWorkers()[0];
    await app.pool.recycle(old.id);
    await eventually(() => app!.pool.listWorkers().length === 1 && app!.pool.listWorkers()[0].id !== old.id, 10_000, 'the successor alone');
    expect(parentOf(app.pool.listWorkers()[0].pid!)).toBe(template);
    await eventually(() => !isAlive(old.pid!), 5000, 'the recycled worker to exit');
  });

  it('falls back to spawning when the template cannot start', async () => {
    app = await bootApp({ poolSize: 2, adapter: 'template_refusing:ShowcaseAdapter', pythonPath: [FIXTURES], workers: { start: 'fork' } });
    await app.pool.ready();
    expect(templatesOf(app.runId)).toEqual([]);
    for (const { pid } of app.pool.listWorkers()) expect(parentOf(pid!)).toBe(process.pid);
    expect(await app.pool.execute('add', { a: 1, b: 2 })).toBe(3);
  });

  it('forks by default', async () => {
    app = await bootApp({ poolSize: 2 });
    await app.pool.ready();
    const [template] = templatesOf(app.runId);
    expect(template).toBeDefined();
    for (const { pid } of app.pool.listWorkers()) expect(parentOf(pid!)).toBe(template);
  });

  it("spawns every worker with workers.start: 'spawn'", async () => {
    app = await bootApp({ poolSize: 2, workers: { start: 'spawn' } });
    await app.pool.ready();
    expect(templatesOf(app.runId)).toEqual([]);
    for (const { pid } of app.pool.listWorkers()) expect(parentOf(pid!)).toBe(process.pid);
  });

  it('leaves no process behind at close', async () => {
    app = await bootApp({ poolSize: 3, workers: { start: 'fork' } });
    await app.pool.ready();
    const pids = [...app.pool.listWorkers().map((w) => w.pid!), ...templatesOf(app.runId)];
    await app.close();
    expect(pids.filter(isAlive)).toEqual([]);
    expect(processesOfRun(app.runId)).toEqual([]);
  });
});

describe('a host with forked workers, SIGKILLed', () => {
  let host: RunningChild | undefined;
  let runtimeDir: string;
  beforeEach(() => {
    runtimeDir = mkdtempSync(join(tmpdir(), 'snakepit-forkhost-'));
  });
  killAndReapAfterEach(() => ({ host, runtimeDir }));

  it('leaves no worker: the idle ones and the template exit by themselves, the next boot reaps a stuck one and what a tool started', async () => {
    host = runTypeScript('test/fixtures/host-process.ts', { POOL_SIZE: '3', STUCK: '1', WORKER_START: 'fork', RUNTIME_DIR: runtimeDir });
    const { runId, pids, stuck, sleeper } = JSON.parse(await host.line(/^\{"runId"/));
    const [template] = templatesOf(runId, host.child.pid);
    expect(template).toBeDefined();
    for (const pid of pids) expect(parentOf(pid)).toBe(template);
    // The registry names the workers and the template, with pids.
    const record = JSON.parse(readFileSync(join(runtimeDir, 'default', `${runId}.json`), 'utf8'));
    const recorded = Object.values(record.workers).map((w: any) => w.pid).sort();
    expect(recorded).toEqual([...pids, template].sort());
    host.child.kill('SIGKILL');
    await host.exited;
    const idle = pids.filter((pid: number) => pid !== stuck);
    await eventually(() => [...idle, template].every((pid: number) => !isAlive(pid)), 10_000, 'idle workers and the template to exit');
    expect(isAlive(stuck)).toBe(true);
    expect(isAlive(sleeper)).toBe(true);
    const report = await reapOrphans(new ProcessRegistry(runtimeDir, 'default', 'next-boot'), 1000);
    expect(report.runs).toEqual([runId]);
    expect(report.killed).toEqual(expect.arrayContaining([stuck, sleeper]));
    await eventually(() => !isAlive(stuck) && !isAlive(sleeper), 5000, 'the reaped processes to go');
    expect(processesOfRun(runId)).toEqual([]);
  });
});
