import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reapOrphans } from '../libs/snakepit/src/process/orphan-reaper';
import { ProcessRegistry } from '../libs/snakepit/src/process/process-registry';
import { runTypeScript, type RunningChild } from './support/child-process';
import { killAndReapAfterEach } from './support/killed-hosts';
import { eventually, isAlive, workersOfRun } from './support/processes';

describe('the host process and its workers', () => {
  let host: RunningChild | undefined;
  let runtimeDir: string;
  beforeEach(() => {
    runtimeDir = mkdtempSync(join(tmpdir(), 'snakepit-hostproc-'));
  });
  killAndReapAfterEach(() => ({ host, runtimeDir }));

  it('workers exit by themselves when the host is SIGKILLed, and the next boot removes what the run left', async () => {
    host = runTypeScript('test/fixtures/host-process.ts', { POOL_SIZE: '3', RUNTIME_DIR: runtimeDir, SHARE: '1' });
    const { runId, pids, sharedDir } = JSON.parse(await host.line(/^\{"runId"/));
    const { socketDirs } = JSON.parse(readFileSync(join(runtimeDir, 'default', `${runId}.json`), 'utf8'));
    expect(socketDirs).toHaveLength(3); // the host bridge's, the workers' and shared memory's
    expect(socketDirs).toContain(sharedDir);
    expect(sharedDir).toMatch(new RegExp(`^/dev/shm/snakepit-${runId}-`));
    expect(readdirSync(sharedDir).length).toBeGreaterThan(0);
    expect(socketDirs.every((dir: string) => existsSync(dir))).toBe(true);
    expect(workersOfRun(runId).sort()).toEqual([...pids].sort());
    host.child.kill('SIGKILL');
    await host.exited;
    await eventually(() => workersOfRun(runId).length === 0, 10_000, 'orphaned workers to exit');
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    // The next boot of the instance removes the dead run's record and its socket directories.
    const report = await reapOrphans(new ProcessRegistry(runtimeDir, 'default', 'next-boot'), 1000);
    expect(report.runs).toEqual([runId]);
    expect(socketDirs.some((dir: string) => existsSync(dir))).toBe(false);
  });

  it('SIGTERM to the sample app (enableShutdownHooks) stops every worker before it exits', async () => {
    host = runTypeScript('apps/sample/src/main.ts', { PORT: '0', SNAKEPIT_POOL_SIZE: '2' });
    const url = (await host.line(/listening on http/)).replace(/^.*listening on /, '').trim();
    await eventually(async () => ((await fetch(`${url}/pool/stats`).then((r) => r.json())) as any)[0].status === 'ready');
    const workers = (await fetch(`${url}/pool/workers`).then((r) => r.json())) as Array<{ pid: number }>;
    expect(workers).toHaveLength(2);
    host.child.kill('SIGTERM');
    const exit = await host.exited;
    // Nest re-raises the signal once its shutdown hooks are done.
    expect(exit).toEqual({ code: null, signal: 'SIGTERM' });
    expect(host.output()).toContain('closed: stopped 2 workers');
    for (const { pid } of workers) expect(isAlive(pid)).toBe(false);
  });

  it('SIGTERM drains within shutdown.graceMs + killTimeoutMs, whatever HTTP requests are in flight; queued calls get pool_closed', async () => {
    host = runTypeScript('apps/sample/src/main.ts', {
      PORT: '0',
      SNAKEPIT_POOL_SIZE: '2',
      SNAKEPIT_SHUTDOWN_GRACE_MS: '1000',
      SNAKEPIT_KILL_TIMEOUT_MS: '1000',
    });
    const url = (await host.line(/listening on http/)).replace(/^.*listening on /, '').trim();
    const stats = async () => ((await fetch(`${url}/pool/stats`).then((r) => r.json())) as any)[0];
    await eventually(async () => (await stats()).status === 'ready');
    const call = (ms: number) =>
      fetch(`${url}/execute/sleep`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ms }) }).then(
        async (response) => ({ status: response.status, code: ((await response.json()) as any).error?.code }),
        (error: Error) => ({ status: 0, code: error.message }),
      );
    const running = [call(25_000), call(25_000)];
    await eventually(async () => (await stats()).busy === 2);
    const queued = Array.from({ length: 6 }, () => call(10));
    await eventually(async () => (await stats()).queued === 6);
    const started = Date.now();
    host.child.kill('SIGTERM');
    await host.exited;
    const tookMs = Date.now() - started;
    // 1 s of grace, then 1 s for the workers to stop, and a margin for a busy machine; the
    // sleeps would have taken 25 s.
    expect(tookMs).toBeLessThan(10_000);
    expect(await Promise.all(queued)).toEqual(Array(6).fill({ status: 503, code: 'pool_closed' }));
    expect(await Promise.all(running)).toEqual(Array(2).fill({ status: 503, code: 'pool_closed' }));
  });

  it('survives a replacement that cannot be spawned (no file descriptors left), serves on, and recovers', async () => {
    host = runTypeScript('test/fixtures/host-process.ts', { POOL_SIZE: '2', EXHAUST_FDS: '1', RUNTIME_DIR: runtimeDir }, ['prlimit', '--nofile=256', '--']);
    const report = JSON.parse(await host.line(/^\{"runId"/));
    expect(report.fdsHeld).toBeGreaterThan(0);
    process.kill(report.pids[0], 'SIGKILL');
    // The replacement cannot start (EMFILE); the failure is logged, and retried with backoff.
    await eventually(() => /could not start a replacement worker/.test(host!.output()), 10_000, 'a failed replacement');
    expect(host.output()).toMatch(/file descriptors|EMFILE/);
    expect(host.child.exitCode).toBeNull();
    host.child.kill('SIGUSR2');
    expect(JSON.parse(await host.line(/^\{"(added|failed)"/))).toEqual({ added: 42 });
    expect(JSON.parse(await host.line(/^\{"recovered"/, 60_000))).toEqual({ recovered: 2 });
  });
});
