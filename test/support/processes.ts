import { readdirSync, readFileSync } from 'node:fs';

/** Live (non-zombie) processes whose command line holds every one of `needles`, read from /proc. */
export function processesWith(...needles: string[]): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (!needles.every((needle) => cmdline.includes(needle))) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state !== 'Z') pids.push(Number(entry));
    } catch {
      /* the process ended while we looked */
    }
  }
  return pids;
}

/** Python workers started by the app whose run id this is: spawned ones, and those forked from
 *  its templates (they show the template's command line, and have a template for parent). */
export function workersOfRun(runId: string): number[] {
  const templates = new Set(templatesOfRun(runId));
  const forked = processesWith('snakepit_bridge.template', runId).filter((pid) => templates.has(parentOf(pid)));
  return [...processesWith('snakepit_bridge.server', runId), ...forked];
}

/** The run's template processes (workers.start: 'fork'): the template's command line, whose
 *  parent is not a template. */
export function templatesOfRun(runId: string): number[] {
  const withCommand = processesWith('snakepit_bridge.template', runId);
  return withCommand.filter((pid) => !withCommand.includes(parentOf(pid)));
}

/** The parent pid (0 once the process is gone). */
export function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Polls `condition` every 20 ms until it holds, or fails after `timeoutMs`. */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Live processes of a run: its workers (run id on the command line) and whatever their tools
 *  started (the run id in their environment). */
export function processesOfRun(runId: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || !isAlive(Number(entry))) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (cmdline.includes(runId) || environ.includes(`SNAKEPIT_RUN_ID=${runId}`)) pids.push(Number(entry));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return pids;
}

/** Live processes with `NAME=value` in their environment. */
export function processesWithEnv(entry: string): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || !isAlive(Number(pid))) continue;
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(entry)) pids.push(Number(pid));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return pids;
}
