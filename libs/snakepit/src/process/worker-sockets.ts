import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Where an application's workers listen: Unix sockets in one private directory (0700, made on
 * first use, removed at shutdown), so that no other user can even connect; or, with transport
 * `tcp`, loopback ports (still authenticated).
 */
export class WorkerSockets {
  private dir?: string;
  private readonly paths = new Map<string, string>();
  private seq = 0;

  /** Throws at once (at boot) when the OS temp dir is too long a path for Unix sockets.
   *  `onCreate` hears of the directory when it is made (for the process registry). */
  constructor(
    private readonly transport: 'unix' | 'tcp',
    private readonly onCreate: (dir: string) => void = () => undefined,
  ) {
    const longest = join(tmpdir(), 'snakepit-w-XXXXXX', `${Number.MAX_SAFE_INTEGER.toString(36)}.sock`);
    if (transport === 'unix' && Buffer.byteLength(longest) > MAX_SOCKET_PATH_BYTES) {
      throw new Error(
        `worker sockets under ${tmpdir()} would be longer than Unix sockets allow (${MAX_SOCKET_PATH_BYTES} bytes): ` +
          "set TMPDIR to a shorter directory, or use workers.transport: 'tcp'",
      );
    }
  }

  /** The socket path of a worker; undefined for TCP. Named by a counter, not by the worker's id,
   *  so that long pool names cannot push it past the OS limit. */
  pathFor(workerId: string): string | undefined {
    if (this.transport === 'tcp') return undefined;
    const path = join(this.directory(), `${(++this.seq).toString(36)}.sock`);
    this.paths.set(workerId, path);
    return path;
  }

  /** Where a pool's forked workers reach the host after the fork (see AttachServer): a Unix
   *  socket in the same private directory, whatever the transport. Removed with it. */
  attachPath(): string {
    return join(this.directory(), `${(++this.seq).toString(36)}.attach`);
  }

  private directory(): string {
    if (!this.dir) {
      this.dir = mkdtempSync(join(tmpdir(), 'snakepit-w-'));
      this.onCreate(this.dir);
    }
    return this.dir;
  }

  /** The worker has exited: its socket file goes. */
  release(workerId: string): void {
    const path = this.paths.get(workerId);
    if (path === undefined) return;
    this.paths.delete(workerId);
    rmSync(path, { force: true });
  }

  /** Removes the directory (once every worker has exited). */
  remove(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
    this.paths.clear();
  }
}

/** sun_path holds 108 bytes on Linux and 104 on macOS, its terminating NUL included. */
const MAX_SOCKET_PATH_BYTES = 103;
