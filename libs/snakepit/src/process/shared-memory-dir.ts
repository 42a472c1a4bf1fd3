import { accessSync, closeSync, constants, fstatSync, mkdtempSync, openSync, readSync, readdirSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A segment's file name: what the worker accepts too (priv/python/snakepit_bridge/_segments.py). */
const SEGMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Where shared memory is on this OS: /dev/shm on Linux; elsewhere (or without it) the temp dir. */
export function defaultSharedMemoryParent(): string {
  try {
    if (process.platform === 'linux' && statSync('/dev/shm').isDirectory()) {
      accessSync('/dev/shm', constants.W_OK);
      return '/dev/shm';
    }
  } catch {
    /* no writable /dev/shm: the temp dir (a file system, so slower) */
  }
  return tmpdir();
}

/** `snakepit-<runId>-XXXXXX`: the directory of a run, found by its id when the run is dead. */
export function sharedMemoryDirPrefix(runId: string): string {
  return `snakepit-${runId}-`;
}

/**
 * One run's shared-memory segments: files in a private directory (0700, made on first use,
 * named by the run id) under /dev/shm, each 0600 and created exclusively. The host writes the
 * segments of arguments and shared values; workers write those of results; whoever reads a
 * result's segment removes it. Everything goes with the directory at shutdown, and the orphan
 * reaper removes the directory of a run whose host died.
 */
export class SharedMemoryDir {
  private dir?: string;
  private seq = 0;
  private removed = false;

  constructor(
    private readonly runId: string,
    private readonly parent: string = defaultSharedMemoryParent(),
    private readonly onCreate: (dir: string) => void = () => undefined,
  ) {}

  get path(): string {
    if (this.removed) throw new Error('the run has shut down: its shared-memory directory is gone');
    if (!this.dir) {
      this.dir = mkdtempSync(join(this.parent, sharedMemoryDirPrefix(this.runId)));
      this.onCreate(this.dir);
    }
    return this.dir;
  }

  /** A name no other segment of this run has, starting with `prefix` (a letter). */
  newName(prefix: string): string {
    return `${prefix}${(++this.seq).toString(36)}`;
  }

  /** Writes `parts` into a new segment `name`; one copy. Throws when the name is taken. */
  write(name: string, parts: readonly Uint8Array[]): number {
    const fd = openSync(this.file(name), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    let total = 0;
    try {
      for (const part of parts) {
        for (let done = 0; done < part.byteLength; ) done += writeSync(fd, part, done, part.byteLength - done);
        total += part.byteLength;
      }
    } catch (error) {
      closeSync(fd);
      rmSync(this.file(name), { force: true });
      throw error;
    }
    closeSync(fd);
    return total;
  }

  /** `length` bytes of segment `name` from `offset`, in a buffer of their own; one copy. */
  read(name: string, offset: number, length: number): Buffer {
    // O_NONBLOCK: a FIFO in a segment's place must not hang the host; it is then refused.
    const fd = openSync(this.file(name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile()) throw new Error(`segment ${name} is not a regular file`);
      const size = stat.size;
      if (offset + length > size) throw new Error(`segment ${name} holds ${size} bytes, not ${offset + length}`);
      const out = Buffer.allocUnsafeSlow(length);
      for (let done = 0; done < length; ) {
        const read = readSync(fd, out, done, length - done, offset + done);
        if (read === 0) throw new Error(`segment ${name} ended after ${done} of ${length} bytes`);
        done += read;
      }
      return out;
    } finally {
      closeSync(fd);
    }
  }

  remove(name: string): void {
    if (!this.dir || !SEGMENT_NAME.test(name)) return;
    try {
      unlinkSync(join(this.dir, name));
    } catch {
      /* gone already */
    }
  }

  /** Removes every segment whose name starts with `prefix` (a worker's, once it has exited). */
  removeStartingWith(prefix: string): number {
    let removed = 0;
    for (const name of this.list()) {
      if (name.startsWith(prefix)) {
        this.remove(name);
        removed++;
      }
    }
    return removed;
  }

  /** The segments there are now. */
  list(): string[] {
    if (!this.dir) return [];
    try {
      return readdirSync(this.dir);
    } catch {
      return [];
    }
  }

  /** The directory, if it has been made (and not removed). */
  get existing(): string | undefined {
    return this.dir;
  }

  /** Removes the directory and everything in it (shutdown); it is never made again. */
  removeAll(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
    this.removed = true;
  }

  private file(name: string): string {
    if (!SEGMENT_NAME.test(name)) throw new Error(`${JSON.stringify(name)} is not a segment name`);
    return join(this.path, name);
  }
}
