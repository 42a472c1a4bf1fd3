import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Injectable } from '@nestjs/common';
import { SnakepitEvent, SnakepitEvents } from '@snakepit/nestjs';
import { processStartTime } from '../libs/snakepit/src/process/process-info';
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

  /** The record a run whose host has died would have left. */
  function deadRun(instance: string, runId: string, workers: Record<string, number>, hostPid?: number): string {
    const exited = spawnSync('true');
    const host = hostPid === undefined ? { pid: exited.pid, startTime: 'gone' } : { pid: hostPid, startTime: processStartTime(hostPid) };
    const record = {
      version: 1,
      instanceName: instance,
      runId,
      host,
      workers: Object.fromEntries(
        Object.entries(workers).map(([id, pid]) => [id, { pid, startTime: processStartTime(pid), command: ['python3'] }]),
      ),
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
    expect(Object.keys(record.workers).sort()).toEqual(workers.map((w) => w.id).sort());
    for (const worker of workers) {
      const entry = record.workers[worker.id];
      expect(entry).toMatchObject({ pid: worker.pid, startTime: processStartTime(worker.pid!) });
      expect(entry.command).toEqual(expect.arrayContaining(['--run-id', app.runId, '--worker-id', worker.id]));
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
    const liveFile = deadRun('inst', 'live-run', { 'default-1': liveHostWorker }, process.pid);

    app = await bootApp({ runtimeDir, instanceName: 'inst', poolSize: 1 }, { providers: [ReapListener] });
    await app.pool.ready();
    expect(isAlive(orphan)).toBe(false);
    expect(ReapListener.reports).toEqual([{ instanceName: 'inst', runs: [deadRunId], killed: [orphan] }]);
    expect(existsSync(deadFile)).toBe(false);
    for (const pid of [reusedPid, otherInstance, liveHostWorker]) expect(isAlive(pid)).toBe(true);
    expect(existsSync(otherFile) && existsSync(liveFile)).toBe(true);
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
