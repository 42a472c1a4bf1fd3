import { allPids, environmentHasAll, isRunning } from './process-info';

/** What a worker's processes carry in their environment, inherited by whatever its tools start. */
export interface RunMarker {
  runId: string;
  /** Only the processes of this worker. */
  workerId?: string;
}

const POLL_MS = 25;
const READS_AT_ONCE = 8;

/**
 * The processes of this user carrying the marker (SNAKEPIT_RUN_ID, and SNAKEPIT_WORKER_ID when
 * given) in their environment: a worker, and what its tools started, even those that left its
 * process group (`start_new_session=True`, a double fork). Linux only; elsewhere none are found,
 * and the process-group kill is all there is. A tool that clears the environment of its
 * children hides them.
 */
export async function findMarked(marker: RunMarker): Promise<number[]> {
  const candidates = allPids().filter((pid) => pid !== process.pid);
  const marked: number[] = [];
  // A few reads at a time: a host near its file-descriptor limit must not run out for this.
  for (let start = 0; start < candidates.length; start += READS_AT_ONCE) {
    const batch = candidates.slice(start, start + READS_AT_ONCE);
    const found = await Promise.all(batch.map(async (pid) => ((await carries(pid, marker)) ? pid : undefined)));
    for (const pid of found) if (pid !== undefined) marked.push(pid);
  }
  return marked;
}

/**
 * SIGKILLs every process carrying the marker, and waits up to `settleMs` for them to go.
 * Returns the pids it killed. Each is checked again just before its signal, so a pid that was
 * reused by another program in the meantime is left alone.
 */
export async function killMarked(marker: RunMarker, settleMs = 1000): Promise<number[]> {
  const found = await findMarked(marker);
  const killed: number[] = [];
  for (const pid of found) {
    if (!(await carries(pid, marker))) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      /* gone already */
    }
  }
  const deadline = Date.now() + settleMs;
  while (killed.some(isRunning) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  return killed;
}

function carries(pid: number, { runId, workerId }: RunMarker): Promise<boolean> {
  return environmentHasAll(pid, [`SNAKEPIT_RUN_ID=${runId}`, ...(workerId ? [`SNAKEPIT_WORKER_ID=${workerId}`] : [])]);
}
