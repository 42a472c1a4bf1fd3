import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processStartTime } from './process-info';

/** One worker as recorded: before it is spawned (no pid yet), then with its pid and start time. */
export interface WorkerRecord {
  pid?: number;
  startTime?: string;
  command: string[];
}

/** Everything one run of an application started: one file, `<runId>.json`. */
export interface RunRecord {
  version: 1;
  instanceName: string;
  runId: string;
  host: { pid: number; startTime?: string };
  workers: Record<string, WorkerRecord>;
}

/** What a pool needs from the registry. */
export interface WorkerRegistry {
  /** Before the spawn: a host killed right after it still left a record naming the run. */
  reserve(workerId: string, command: string[]): void;
  /** Right after the spawn. */
  bind(workerId: string, pid: number | undefined): void;
  /** The worker has exited. */
  forget(workerId: string): void;
}

const RECORD_SUFFIX = '.json';
const TEMP_SUFFIX = '.tmp';
/** A temp file this old belongs to a write that will never finish. */
const STALE_TEMP_MS = 60_000;

/**
 * The workers this run has alive, kept in `<runtimeDir>/<instanceName>/<runId>.json` so that the
 * next boot of the same instance can find what a killed host left behind (see OrphanReaper).
 * Each run writes only its own file, always whole (a temp file renamed over it), so concurrent
 * runs and a crash mid-write never leave a torn record. The file is removed at clean shutdown,
 * and a dead run's file once its processes are reaped, so the directory does not grow.
 */
export class ProcessRegistry implements WorkerRegistry {
  readonly dir: string;
  private readonly record: RunRecord;
  private opened = false;
  private writeFailed = false;

  /** `onWriteError` hears of the first failed write (a full disk, a read-only runtime dir):
   *  the pool runs on, but a host killed from then on may leave workers no boot can find. */
  constructor(
    runtimeDir: string,
    readonly instanceName: string,
    readonly runId: string,
    private readonly onWriteError: (error: Error) => void = () => undefined,
  ) {
    this.dir = join(runtimeDir, instanceName);
    this.record = {
      version: 1,
      instanceName,
      runId,
      host: { pid: process.pid, startTime: processStartTime(process.pid) },
      workers: {},
    };
  }

  get file(): string {
    return join(this.dir, `${this.runId}${RECORD_SUFFIX}`);
  }

  /** Creates the directory (private to this user) and this run's record. */
  open(): void {
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    } catch (error) {
      this.reportWriteError(error as Error);
      return;
    }
    this.opened = true;
    this.write();
  }

  reserve(workerId: string, command: string[]): void {
    this.record.workers[workerId] = { command };
    this.write();
  }

  bind(workerId: string, pid: number | undefined): void {
    const entry = this.record.workers[workerId];
    if (!entry || pid === undefined) return;
    entry.pid = pid;
    entry.startTime = processStartTime(pid);
    this.write();
  }

  forget(workerId: string): void {
    if (!(workerId in this.record.workers)) return;
    delete this.record.workers[workerId];
    this.write();
  }

  /** Clean shutdown: nothing of this run is left to find. */
  close(): void {
    this.opened = false;
    rmSync(this.file, { force: true });
  }

  /** The records of other runs of this instance (unreadable ones are removed, with a note). */
  otherRuns(onUnreadable: (file: string, error: Error) => void = () => undefined): RunRecord[] {
    const runs: RunRecord[] = [];
    for (const name of this.entries()) {
      const path = join(this.dir, name);
      if (name.endsWith(TEMP_SUFFIX)) {
        if (isStale(path)) rmSync(path, { force: true });
        continue;
      }
      if (!name.endsWith(RECORD_SUFFIX) || name === `${this.runId}${RECORD_SUFFIX}`) continue;
      try {
        const parsed = JSON.parse(readFileSync(path, 'utf8')) as RunRecord;
        if (parsed?.version !== 1 || typeof parsed.runId !== 'string' || typeof parsed.workers !== 'object') {
          throw new Error('not a run record');
        }
        runs.push(parsed);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // its run just closed
        onUnreadable(path, error as Error);
        rmSync(path, { force: true });
      }
    }
    return runs;
  }

  /** Drops the record of a run whose processes are gone. */
  removeRun(runId: string): void {
    rmSync(join(this.dir, `${runId}${RECORD_SUFFIX}`), { force: true });
  }

  private entries(): string[] {
    try {
      return readdirSync(this.dir);
    } catch {
      return [];
    }
  }

  private write(): void {
    if (!this.opened) return;
    const temp = join(this.dir, `.${this.runId}${RECORD_SUFFIX}${TEMP_SUFFIX}`);
    try {
      writeFileSync(temp, JSON.stringify(this.record), { mode: 0o600 });
      renameSync(temp, this.file);
      this.writeFailed = false;
    } catch (error) {
      this.reportWriteError(error as Error);
    }
  }

  private reportWriteError(error: Error): void {
    if (!this.writeFailed) this.onWriteError(error);
    this.writeFailed = true;
  }
}

function isStale(path: string): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs > STALE_TEMP_MS;
  } catch {
    return false;
  }
}
