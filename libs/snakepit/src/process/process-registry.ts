import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, isAbsolute, join } from 'node:path';
import { currentPidSpace, processStartTime, type PidSpace } from './process-info';

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
  host: { pid: number; startTime?: string } & PidSpace;
  workers: Record<string, WorkerRecord>;
  /** The private directories this run made (Unix sockets, shared memory): removed with a dead run. */
  socketDirs?: string[];
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
/** A run id names a file: nothing that could leave the directory. */
const SAFE_RUN_ID = /^[A-Za-z0-9_-]{1,128}$/;
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
  private closed = false;
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
      host: { pid: process.pid, startTime: processStartTime(process.pid), ...currentPidSpace() },
      workers: {},
    };
  }

  get file(): string {
    return join(this.dir, `${this.runId}${RECORD_SUFFIX}`);
  }

  /** Creates the directory (private to this user) and this run's record. */
  open(): void {
    if (this.closed) return; // the app shut down while it booted
    try {
      this.assertPrivate();
    } catch (error) {
      this.reportWriteError(error as Error);
      return;
    }
    this.opened = true;
    this.write();
  }

  /**
   * Creates the runtime and instance directories if needed (mode 0700), and refuses ones that
   * are links, or that another user owns or can write: records planted there could name live
   * processes as orphans.
   */
  assertPrivate(): void {
    for (const dir of [join(this.dir, '..'), this.dir]) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const stat = lstatSync(dir);
      const uid = process.getuid?.();
      if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid) || (stat.mode & 0o022) !== 0) {
        throw new Error(`${dir} must be a directory of this user that no one else can write (set runtimeDir to another path)`);
      }
    }
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

  /** A private directory this run made (its sockets', its shared memory's): a boot that finds the
   *  run dead removes it. Kept in the record as `socketDirs`, the name earlier versions read. */
  addPrivateDir(dir: string): void {
    const dirs = (this.record.socketDirs ??= []);
    if (dirs.includes(dir)) return;
    dirs.push(dir);
    this.write();
  }

  /** Clean shutdown: nothing of this run is left to find. */
  close(): void {
    this.opened = false;
    this.closed = true;
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
        if (parsed?.version !== 1 || typeof parsed.workers !== 'object' || typeof parsed.host?.pid !== 'number') {
          throw new Error('not a run record');
        }
        if (`${parsed.runId}${RECORD_SUFFIX}` !== name || !SAFE_RUN_ID.test(parsed.runId)) {
          throw new Error('its run id does not match its file name');
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

  /** Drops the record of a run whose processes are gone, and the socket directories it left
   *  (only directories named as this library names them, of this user, never a link). */
  removeRun(run: RunRecord): void {
    for (const dir of run.socketDirs ?? []) if (isOwnPrivateDir(dir)) rmSync(dir, { recursive: true, force: true });
    if (SAFE_RUN_ID.test(run.runId)) rmSync(join(this.dir, `${run.runId}${RECORD_SUFFIX}`), { force: true });
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

/** `snakepit-XXXXXX` (the host bridge's), `snakepit-w-XXXXXX` (the workers') or
 *  `snakepit-<runId>-XXXXXX` (shared memory), as mkdtemp makes them. */
const PRIVATE_DIR_NAME = /^snakepit-(w-|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-)?[A-Za-z0-9]{6}$/;

function isOwnPrivateDir(dir: unknown): dir is string {
  if (typeof dir !== 'string' || !isAbsolute(dir) || !PRIVATE_DIR_NAME.test(basename(dir))) return false;
  try {
    const stat = lstatSync(dir);
    const uid = process.getuid?.();
    return stat.isDirectory() && (uid === undefined || stat.uid === uid);
  } catch {
    return false;
  }
}

function isStale(path: string): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs > STALE_TEMP_MS;
  } catch {
    return false;
  }
}
