import type { ChildProcess } from 'node:child_process';

/** Sends a signal to the child's whole process group (workers are group leaders), so that
 *  processes a tool spawned go too. Falls back to the child alone. */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

/** SIGKILL to a process group whose leader may be gone already: what a tool started dies too.
 *  Safe after the leader exited, since Linux never hands out a pid equal to a live group's id. */
export function killGroup(pgid: number | undefined): void {
  if (pgid === undefined) return;
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    /* no process left in the group */
  }
}

/** Resolves when the child has exited (at once if it already has). */
export function whenExited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGTERM, then SIGKILL if the process is still there after `killTimeoutMs`. */
export async function terminate(child: ChildProcess, killTimeoutMs: number): Promise<void> {
  const exited = whenExited(child);
  signalGroup(child, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), killTimeoutMs);
  });
  const late = await Promise.race([exited.then(() => false), timedOut]);
  clearTimeout(timer);
  if (late) {
    signalGroup(child, 'SIGKILL');
    await exited;
  }
}
