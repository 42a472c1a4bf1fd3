import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Injectable } from '@nestjs/common';
import { SnakepitEvent, SnakepitEvents } from '@snakepit/nestjs';
import { currentPidSpace, processStartTime } from '../libs/snakepit/src/process/process-info';
import { bootApp, type TestApp } from './support/app';
import { eventually, isAlive } from './support/processes';

/** Hears events from the very start, boot included. */
@Injectable()
class ReapListener {
  static reports: Array<Record<string, unknown>> = [];
  constructor(events: SnakepitEvents) {
    events.on(SnakepitEvent.OrphansReaped, (payload) => ReapListener.reports.push(payload));
  }
}

describe('process registry and orphan reaping', () => {
  let runtimeDir: string;
  let app: TestApp | undefined;
  const children: ChildProcess[] = [];
  beforeEach(() => {
    runtimeDir = mkdtempSync(join(tmpdir(), 'snakepit-registry-'));
    ReapListener.reports = [];
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(runtimeDir, { recursive: true, force: true });
  });

  /** A long-lived process in its own group, as a worker is; `args` end up on its command line. */
  function sleeper(...args: string[]): number {
    const child = spawn('/usr/bin/python3', ['-c', 'import time; time.sleep(600)', ...args], { detached: true, stdio: 'ignore' });
    children.push(child);
    return child.pid!;
  }

  /** A marked group leader with an unmarked child in its group; resolves with both pids. */
  async function leaderWithChild(runId: string): Promise<{ leader: number; child: number }> {
    const code = 'import subprocess, sys, time\nc = subprocess.Popen(["sleep", "600"], env={})\nprint(c.pid, flush=True)\ntime.sleep(600)';
    const leader = spawn('/usr/bin/python3', ['-c', code, '--run-id', runId], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(leader);
    const line = await new Promise<string>((resolve) => leader.stdout!.once('data', (chunk) => resolve(String(chunk))));
    return { leader: leader.pid!, child: Number(line.trim()) };
  }

  /** The record a run whose host has died would have left. */
  function deadRun(
    instance: string,
    runId: string,
    workers: Record<string, number>,
    options: { hostPid?: number; startTimes?: Record<string, string>; pidSpace?: object; socketDirs?: string[] } = {},
  ): string {
    const exited = spawnSync('true');
    const host = options.hostPid === undefined
      ? { pid: exited.pid, startTime: 'gone' }
      : { pid: options.hostPid, startTime: processStartTime(options.hostPid) };
    const record = {
      version: 1,
      instanceName: instance,
      runId,
      host: { ...host, ...currentPidSpace(), ...options.pidSpace },
      workers: Object.fromEntries(
        Object.entries(workers).map(([id, pid]) => [id, { pid, startTime: options.startTimes?.[id] ?? processStartTime(pid), command: ['python3'] }]),
      ),
      socketDirs: options.socketDirs,
    };
    mkdirSync(join(runtimeDir, instance), { recursive: true });
    const file = join(runtimeDir, instance, `${runId}.json`);
    writeFileSync(file, JSON.stringify(record));
    return file;
  }

  it('records every worker (pid, start time, command) while it runs, and leaves nothing at close', async () => {
    app = await bootApp({ runtimeDir, instanceName: 'reg', poolSize: 2 });
    await app.pool.ready();
    const record = JSON.parse(readFileSync(join(runtimeDir, 'reg', `${app.runId}.json`), 'utf8'));
    expect(record).toMatchObject({ version: 1, instanceName: 'reg', runId: app.runId, host: { pid: process.pid, startTime: processStartTime(process.pid) } });
    const workers = app.pool.listWorkers();
    // The pool's template (workers.start: 'fork') is recorded beside its workers.
    expect(Object.keys(record.workers).sort()).toEqual([...workers.map((w) => w.id), 'default-template-1'].sort());
    for (const worker of workers) {
      const entry = record.workers[worker.id];
      expect(entry).toMatchObject({ pid: worker.pid, startTime: processStartTime(worker.pid!) });
      // What /proc shows for it (a forked worker shows its template's command line), run id included.
      expect(entry.command).toEqual(readFileSync(`/proc/${worker.pid}/cmdline`, 'utf8').split('\0').filter(Boolean));
      expect(entry.command).toEqual(expect.arrayContaining(['--run-id', app.runId]));
    }
    await app.close();
    expect(readdirSync(join(runtimeDir, 'reg'))).toEqual([]);
  });

  it('kills what a dead run of the same instance left, never a reused pid, another instance or a live host', async () => {
    const deadRunId = 'dead-run-1';
    const orphan = sleeper('--run-id', deadRunId);
    const reusedPid = sleeper(); // recorded under the dead run, but it is some other process now
    const deadFile = deadRun('inst', deadRunId, { 'default-1': orphan, 'default-2': reusedPid });
    const otherInstance = sleeper('--run-id', 'dead-run-2');
    const otherFile = deadRun('other', 'dead-run-2', { 'default-1': otherInstance });
    const liveHostWorker = sleeper('--run-id', 'live-run');
    const liveFile = deadRun('inst', 'live-run', { 'default-1': liveHostWorker }, { hostPid: process.pid });

    app = await bootApp({ runtimeDir, instanceName: 'inst', poolSize: 1 }, { providers: [ReapListener] });
    await app.pool.ready();
    expect(isAlive(orphan)).toBe(false);
    expect(ReapListener.reports).toEqual([{ instanceName: 'inst', runs: [deadRunId], killed: [orphan] }]);
    expect(existsSync(deadFile)).toBe(false);
    for (const pid of [reusedPid, otherInstance, liveHostWorker]) expect(isAlive(pid)).toBe(true);
    expect(existsSync(otherFile) && existsSync(liveFile)).toBe(true);
  });

  it('removes the socket directories a dead run recorded, and nothing that is not one', async () => {
    const bridgeDir = mkdtempSync(join(tmpdir(), 'snakepit-'));
    const workersDir = mkdtempSync(join(tmpdir(), 'snakepit-w-'));
    writeFileSync(join(workersDir, '1.sock'), '');
    const notOurs = mkdtempSync(join(tmpdir(), 'not-snakepit-'));
    deadRun('sockets', 'dead-run-9', {}, { socketDirs: [bridgeDir, workersDir, notOurs, '/etc'] });
    try {
      app = await bootApp({ runtimeDir, instanceName: 'sockets', poolSize: 1 });
      await app.pool.ready();
      expect([existsSync(bridgeDir), existsSync(workersDir)]).toEqual([false, false]);
      expect([existsSync(notOurs), existsSync('/etc')]).toEqual([true, true]);
    } finally {
      rmSync(notOurs, { recursive: true, force: true });
    }
  });

  it('signals a recorded worker\'s process group only if its start time matches the record', async () => {
    const stale = await leaderWithChild('dead-run-3');
    const recorded = await leaderWithChild('dead-run-4');
    deadRun('groups', 'dead-run-3', { 'default-1': stale.leader }, { startTimes: { 'default-1': '1' } });
    deadRun('groups', 'dead-run-4', { 'default-1': recorded.leader });
    app = await bootApp({ runtimeDir, instanceName: 'groups', poolSize: 1 });
    await app.pool.ready();
    // Both leaders carry their run's marker, so both go; only the verified one takes its group along.
    expect([stale.leader, recorded.leader].map(isAlive)).toEqual([false, false]);
    await eventually(() => !isAlive(recorded.child), 2000, 'the verified group to go');
    expect(isAlive(stale.child)).toBe(true);
    process.kill(stale.child, 'SIGKILL');
  });

  it('leaves runs of another pid namespace alone, and drops records of an earlier boot', async () => {
    const container = sleeper('--run-id', 'ns-run');
    const nsFile = deadRun('spaces', 'ns-run', { 'default-1': container }, { pidSpace: { pidNamespace: 'pid:[1]' } });
    const before = sleeper('--run-id', 'boot-run');
    const bootFile = deadRun('spaces', 'boot-run', { 'default-1': before }, { pidSpace: { bootId: 'another-boot' } });
    app = await bootApp({ runtimeDir, instanceName: 'spaces', poolSize: 1 });
    await app.pool.ready();
    expect([isAlive(container), existsSync(nsFile)]).toEqual([true, true]);
    expect([isAlive(before), existsSync(bootFile)]).toEqual([true, false]); // nothing of it can be alive, so nothing is killed
  });

  it('refuses a runtime directory that others can write, and reaps nothing there', async () => {
    const orphan = sleeper('--run-id', 'dead-run-5');
    deadRun('shared', 'dead-run-5', { 'default-1': orphan });
    chmodSync(runtimeDir, 0o777);
    app = await bootApp({ runtimeDir, instanceName: 'shared', poolSize: 1 });
    expect(await app.pool.execute('add', { a: 1, b: 1 })).toBe(2); // the pool still serves
    expect(isAlive(orphan)).toBe(true);
    expect(existsSync(join(runtimeDir, 'shared', `${app.runId}.json`))).toBe(false);
    chmodSync(runtimeDir, 0o700);
  });

  it('does not grow across restarts: dead runs are dropped, closed runs remove themselves', async () => {
    for (const n of [1, 2, 3]) deadRun('grow', `dead-${n}`, {});
    for (let boot = 0; boot < 3; boot++) {
      const next = await bootApp({ runtimeDir, instanceName: 'grow', poolSize: 1 });
      await next.pool.ready();
      expect(readdirSync(join(runtimeDir, 'grow'))).toEqual([`${next.runId}.json`]);
      await next.close();
    }
    expect(readdirSync(join(runtimeDir, 'grow'))).toEqual([]);
  });

  it('removes an unreadable record instead of failing the boot', async () => {
    mkdirSync(join(runtimeDir, 'torn'), { recursive: true });
    writeFileSync(join(runtimeDir, 'torn', 'garbage.json'), '{"version": 1, "runId":');
    app = await bootApp({ runtimeDir, instanceName: 'torn', poolSize: 1 });
    await app.pool.ready();
    await eventually(() => !existsSync(join(runtimeDir, 'torn', 'garbage.json')), 2000, 'the torn record to go');
  });
});
