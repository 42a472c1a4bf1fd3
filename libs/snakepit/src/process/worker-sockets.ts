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

  constructor(private readonly transport: 'unix' | 'tcp') {}

  /** The socket path of a worker; undefined for TCP. */
  pathFor(workerId: string): string | undefined {
    if (this.transport === 'tcp') return undefined;
    this.dir ??= mkdtempSync(join(tmpdir(), 'snakepit-w-'));
    return join(this.dir, `${workerId}.sock`);
  }

  /** Removes the directory (once every worker has exited). */
  remove(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}
