import { runTypeScript, type RunningChild } from './support/child-process';
import { eventually, isAlive, workersOfRun } from './support/processes';

describe('the host process and its workers', () => {
  let host: RunningChild | undefined;
  afterEach(() => {
    if (host && host.child.exitCode === null) host.child.kill('SIGKILL');
  });

  it('workers exit by themselves when the host is SIGKILLed', async () => {
    host = runTypeScript('test/fixtures/host-process.ts', { POOL_SIZE: '3' });
    const { runId, pids } = JSON.parse(await host.line(/^\{"runId"/));
    expect(workersOfRun(runId).sort()).toEqual([...pids].sort());
    host.child.kill('SIGKILL');
    await host.exited;
    await eventually(() => workersOfRun(runId).length === 0, 10_000, 'orphaned workers to exit');
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
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
});
