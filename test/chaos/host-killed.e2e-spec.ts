/**
 * Chaos (run alone with `npm run test:chaos`): the host is SIGKILLed while serving. Its idle
 * workers exit by themselves; what cannot (a worker stuck in C with the GIL, a process a tool
 * started that ignores SIGTERM) is killed by the next boot of the same instance, and only by it.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootApp, type TestApp } from '../support/app';
import { runTypeScript, type RunningChild } from '../support/child-process';
import { eventually, isAlive, processesOfRun } from '../support/processes';

describe('chaos: the host is SIGKILLed', () => {
  let host: RunningChild | undefined;
  let app: TestApp | undefined;
  let runtimeDir: string;
  beforeEach(() => {
    runtimeDir = mkdtempSync(join(tmpdir(), 'snakepit-hostkill-'));
  });
  afterEach(async () => {
    if (host && host.child.exitCode === null) host.child.kill('SIGKILL');
    await app?.close();
    rmSync(runtimeDir, { recursive: true, force: true });
  });

  it('leaves nothing of the old run alive after the next boot of the same instance', async () => {
    host = runTypeScript('test/fixtures/host-process.ts', { POOL_SIZE: '3', STUCK: '1', INSTANCE_NAME: 'svc', RUNTIME_DIR: runtimeDir });
    const { runId, pids, stuck, sleeper } = JSON.parse(await host.line(/^\{"runId"/));
    const { socketDirs } = JSON.parse(readFileSync(join(runtimeDir, 'svc', `${runId}.json`), 'utf8'));
    expect(processesOfRun(runId).sort()).toEqual([...pids, sleeper].sort());
    host.child.kill('SIGKILL');
    await host.exited;

    // The idle workers notice and exit; the stuck one and the tool's process cannot.
    const idle = pids.filter((pid: number) => pid !== stuck);
    await eventually(() => idle.every((pid: number) => !isAlive(pid)), 10_000, 'idle workers to exit by themselves');
    expect(isAlive(stuck)).toBe(true);
    expect(isAlive(sleeper)).toBe(true);

    // Another instance does not touch them.
    app = await bootApp({ poolSize: 1, instanceName: 'not-svc', runtimeDir });
    await app.pool.ready();
    expect(isAlive(stuck) && isAlive(sleeper)).toBe(true);
    await app.close();

    // The same instance does.
    app = await bootApp({ poolSize: 1, instanceName: 'svc', runtimeDir, shutdown: { killTimeoutMs: 500 } });
    await app.pool.ready();
    expect(processesOfRun(runId)).toEqual([]);
    expect(readdirSync(join(runtimeDir, 'svc'))).toEqual([`${app.runId}.json`]);
    expect(socketDirs.some((dir: string) => existsSync(dir))).toBe(false);
  });
});
