import { allPids, currentPidSpace, environmentHas, isRunning, processCommandLine, processStartTime, type PidSpace } from './process-info';
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

/** A run recorded in another pid namespace (another container) names pids that mean nothing here. */
function samePidNamespace(run: RunRecord, here: PidSpace): boolean {
  return run.host.pidNamespace === undefined || run.host.pidNamespace === here.pidNamespace;
}

/** A run of an earlier boot of this machine: all its processes are gone. */
function earlierBoot(run: RunRecord, here: PidSpace): boolean {
  return run.host.bootId !== undefined && here.bootId !== undefined && run.host.bootId !== here.bootId;
}

/** A recorded worker that is still the process recorded: its pid alive, with the recorded start
 *  time and the run's marker. Only such a worker's process group may be signalled. */
function verifiedLeader(pid: number, startTime: string | undefined, runId: string): boolean {
  return isRunning(pid) && processStartTime(pid) === startTime && carriesRunMarker(pid, runId);
}

interface Leftovers {
  /** Recorded workers, verified: signalled with their process groups. */
  groups: Array<{ pid: number; startTime?: string; runId: string }>;
  /** Every other process carrying the run's marker (Linux): signalled one by one. */
  single: Array<{ pid: number; runId: string }>;
}

/**
 * The processes an earlier, dead run of the same instance left behind. A recorded worker counts
 * only if its pid is alive with the recorded start time and the run's marker, so a reused pid is
 * never touched; on Linux every process carrying the marker counts too, which finds a worker
 * spawned in the instant before its record was written and the processes its tools started.
 */
function leftovers(run: RunRecord, pids: number[]): Leftovers {
  const groups = Object.values(run.workers)
    .filter((worker) => worker.pid !== undefined && verifiedLeader(worker.pid, worker.startTime, run.runId))
    .map((worker) => ({ pid: worker.pid!, startTime: worker.startTime, runId: run.runId }));
  const single = pids
    .filter((pid) => pid !== process.pid && !groups.some((g) => g.pid === pid) && isRunning(pid) && carriesRunMarker(pid, run.runId))
    .map((pid) => ({ pid, runId: run.runId }));
  return { groups, single };
}

/** Signals what is still the process it was (checked again: a pid may have been reused meanwhile). */
function send(found: Leftovers, name: NodeJS.Signals): void {
  for (const group of found.groups) if (verifiedLeader(group.pid, group.startTime, group.runId)) signal(-group.pid, name);
  for (const one of found.single) if (isRunning(one.pid) && carriesRunMarker(one.pid, one.runId)) signal(one.pid, name);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    /* gone */
  }
}

/** The dead runs of this instance and the processes they left, found without touching them. */
export function findOrphans(
  registry: ProcessRegistry,
  onUnreadable?: (file: string, error: Error) => void,
): { dead: RunRecord[]; earlierBoots: RunRecord[]; found: Leftovers } {
  registry.assertPrivate();
  const here = currentPidSpace();
  const runs = registry.otherRuns(onUnreadable);
  const earlierBoots = runs.filter((candidate) => earlierBoot(candidate, here));
  const dead = runs.filter((run) => !earlierBoot(run, here) && samePidNamespace(run, here) && !hostAlive(run));
  const pids = dead.length ? allPids() : [];
  const each = dead.map((run) => leftovers(run, pids));
  return { dead, earlierBoots, found: { groups: each.flatMap((f) => f.groups), single: each.flatMap((f) => f.single) } };
}

/**
 * Kills what earlier runs of this instance left alive (their host died without shutting down),
 * SIGTERM then SIGKILL after `killTimeoutMs`, each worker with its process group, and drops
 * their records. Runs whose host still lives are another live application, and runs recorded in
 * another pid namespace belong to another container: both are left alone. Records of an earlier
 * boot are dropped, since none of their processes can be alive.
 */
export async function reapOrphans(
  registry: ProcessRegistry,
  killTimeoutMs: number,
  onUnreadable?: (file: string, error: Error) => void,
): Promise<ReapReport> {
  const { dead, earlierBoots, found: all } = findOrphans(registry, onUnreadable);
  for (const run of earlierBoots) registry.removeRun(run);
  if (dead.length === 0) return { runs: [], killed: [] };
  const killed = [...all.groups, ...all.single].map((entry) => entry.pid);
  if (killed.length) {
    send(all, 'SIGTERM');
    if (!(await allGone(killed, killTimeoutMs))) {
      send(all, 'SIGKILL');
      await allGone(killed, SIGKILL_SETTLE_MS);
    }
  }
  for (const run of dead) registry.removeRun(run);
  return { runs: dead.map((run) => run.runId), killed };
}
