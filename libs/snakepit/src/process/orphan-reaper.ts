import { allPids, environmentHas, isRunning, processCommandLine, processStartTime } from './process-info';
import type { ProcessRegistry, RunRecord } from './process-registry';

/** What one boot's reaping found. */
export interface ReapReport {
  /** Earlier runs of this instance whose host is dead. */
  runs: string[];
  /** Processes of those runs that were still alive, and were killed. */
  killed: number[];
}

const POLL_MS = 25;
/** How long SIGKILLed processes may take to disappear. */
const SIGKILL_SETTLE_MS = 1000;

async function allGone(pids: number[], withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (pids.some(isRunning)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return true;
}

/** Whether `pid` carries the run's marker: `--run-id <runId>` on its command line (workers) or
 *  SNAKEPIT_RUN_ID=<runId> in its environment (workers and what their tools started). */
export function carriesRunMarker(pid: number, runId: string): boolean {
  const args = processCommandLine(pid);
  const at = args?.indexOf('--run-id') ?? -1;
  if (at >= 0 && args![at + 1] === runId) return true;
  return environmentHas(pid, `SNAKEPIT_RUN_ID=${runId}`);
}

function hostAlive(run: RunRecord): boolean {
  return isRunning(run.host.pid) && processStartTime(run.host.pid) === run.host.startTime;
}

/**
 * The processes an earlier, dead run of the same instance left behind. A recorded worker counts
 * only if its pid is alive with the recorded start time and the run's marker, so a reused pid is
 * never touched; on Linux every process carrying the marker counts too, which finds a worker
 * spawned in the instant before its record was written and the processes its tools started.
 */
function leftovers(run: RunRecord, pids: number[]): { groups: number[]; single: number[] } {
  const groups = Object.values(run.workers)
    .filter((worker) => worker.pid !== undefined && isRunning(worker.pid))
    .filter((worker) => processStartTime(worker.pid!) === worker.startTime && carriesRunMarker(worker.pid!, run.runId))
    .map((worker) => worker.pid!);
  const single = pids.filter((pid) => pid !== process.pid && !groups.includes(pid) && isRunning(pid) && carriesRunMarker(pid, run.runId));
  return { groups, single };
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    /* gone */
  }
}

/**
 * Kills what earlier runs of this instance left alive (their host died without shutting down),
 * SIGTERM then SIGKILL after `killTimeoutMs`, each worker with its process group, and drops
 * their records. Runs whose host still lives are another live application: left alone.
 */
export async function reapOrphans(registry: ProcessRegistry, killTimeoutMs: number, onUnreadable?: (file: string, error: Error) => void): Promise<ReapReport> {
  const dead = registry.otherRuns(onUnreadable).filter((run) => !hostAlive(run));
  if (dead.length === 0) return { runs: [], killed: [] };
  const pids = allPids();
  const found = dead.map((run) => leftovers(run, pids));
  const groups = found.flatMap((entry) => entry.groups);
  const single = found.flatMap((entry) => entry.single);
  const killed = [...groups, ...single];
  const send = (name: NodeJS.Signals) => {
    for (const pid of groups) signal(-pid, name);
    for (const pid of single) signal(pid, name);
  };
  if (killed.length) {
    send('SIGTERM');
    if (!(await allGone(killed, killTimeoutMs))) {
      send('SIGKILL');
      await allGone(killed, SIGKILL_SETTLE_MS);
    }
  }
  for (const run of dead) registry.removeRun(run.runId);
  return { runs: dead.map((run) => run.runId), killed };
}
