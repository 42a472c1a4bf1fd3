import { rmSync } from 'node:fs';
import { reapOrphans } from '../../libs/snakepit/src/process/orphan-reaper';
import { ProcessRegistry } from '../../libs/snakepit/src/process/process-registry';
import type { RunningChild } from './child-process';

/**
 * For tests that run a host process with a runtime dir of its own: after each test, the host
 * is SIGKILLed if it still runs, what it left (its record, socket directories, stuck workers)
 * is reaped as the next boot would reap it, and the runtime dir goes.
 */
export function killAndReapAfterEach(current: () => { host?: RunningChild; runtimeDir: string }): void {
  afterEach(async () => {
    const { host, runtimeDir } = current();
    if (host && host.child.exitCode === null) {
      host.child.kill('SIGKILL');
      await host.exited;
    }
    await reapOrphans(new ProcessRegistry(runtimeDir, 'default', 'cleanup'), 1000);
    rmSync(runtimeDir, { recursive: true, force: true });
  });
}
