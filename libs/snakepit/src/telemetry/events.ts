import type { CrashClassification } from '../errors';
import type { RecycleReason } from '../supervision/recycle-policy';
import type { StopReason } from '../pool/worker.types';

/** Every event the library emits, by name. Listen with `SnakepitEvents.on(name, listener)`.
 *  Worker and pool events carry `pool`; worker events also `workerId`. */
export const SnakepitEvent = {
  /** { pool, workers } — every worker of the pool is ready (at boot, and after a restart). */
  PoolReady: 'snakepit.pool.ready',
  /** { pool, code, message } — the pool stopped: it could not start, or its restart budget is spent. */
  PoolFailed: 'snakepit.pool.failed',
  /** { pool, workers } — a failed pool is ready again (PoolService.restart() or the cool-down). */
  PoolRecovered: 'snakepit.pool.recovered',
  /** { pool, queued, maxQueueSize } — calls are being refused because the queue is full (at most once a second). */
  PoolSaturated: 'snakepit.pool.saturated',
  /** { pool, tool, durationMs, queueWaitMs, executionMs, ran, attempts, cancelled } — a call succeeded (or its stream's consumer left). */
  RequestFinished: 'snakepit.request.finished',
  /** { pool, tool, durationMs, queueWaitMs, executionMs, ran, attempts, code } — a call failed; `ran` is false if it never reached a worker. */
  RequestFailed: 'snakepit.request.failed',
  /** { pool, workerId, pid } — the process is started (it is in the process registry). */
  WorkerSpawned: 'snakepit.worker.spawned',
  /** { pool, workerId, pid, startupMs } */
  WorkerReady: 'snakepit.worker.ready',
  /** { pool, workerId, reason: 'ttl' | 'requests' | 'memory' | 'manual', successorId } — the successor is ready and has taken over. */
  WorkerRecycled: 'snakepit.worker.recycled',
  /** { pool, workerId, pid, exitCode, signal, classification, inFlight } — it died by itself. */
  WorkerCrashed: 'snakepit.worker.crashed',
  /** { pool, workerId, pid, missedHeartbeats } — killed for missing its heartbeats. */
  WorkerUnresponsive: 'snakepit.worker.unresponsive',
  /** { pool, workerId, replaces, taintMs } — the replacement of a worker that died mid-call gets no work for taintMs. */
  WorkerTainted: 'snakepit.worker.tainted',
  /** { pool, tool, crashes, windowMs, lastCrashAt } — workers kept dying under this tool (restart.poisonCrashes
   *  within restart.windowMs): a request to it probably kills whichever worker runs it. */
  PoisonToolSuspected: 'snakepit.tool.poisonSuspected',
  /** { pool, workerId, replaces, delayMs, restartsInWindow } — a replacement for a dead worker is starting. */
  WorkerRestarted: 'snakepit.worker.restarted',
  /** { pool, workerId, pid, exitCode, signal, reason } — the process is gone; reason is why the host
   *  stopped it ('recycle', 'unresponsive', 'stuck', 'protocol', 'shutdown', 'unwanted') or 'crash'. */
  WorkerTerminated: 'snakepit.worker.terminated',
  /** { pool, tool, attempt, delayMs, code } — an idempotent call is retried after its worker died. */
  CallRetried: 'snakepit.call.retried',
  /** { instanceName, runs, killed } — processes left by earlier runs of this instance were killed at boot. */
  OrphansReaped: 'snakepit.orphans.reaped',
  /** { sessionId } */
  SessionCreated: 'snakepit.session.created',
  /** { sessionId, idleMs } — removed by the sweep after sessions.ttlMs without use. */
  SessionExpired: 'snakepit.session.expired',
  /** { sessionId } */
  SessionDeleted: 'snakepit.session.deleted',
  /** { sessionId, from, to } — a session's host was lost and another host took it over: its
   *  state is intact, its Python objects on the lost host are gone. */
  SessionRehomed: 'snakepit.session.rehomed',
  /** { tool, sessionId, workerId, durationMs, ok } — Python called a host tool. */
  HostToolCalled: 'snakepit.host_tool.called',
  /** { method, peer } — a call to the host bridge without the right secret was refused. */
  BridgeCallRefused: 'snakepit.bridge.refused',
} as const;

/** Python's own events: `self.emit('name', …)` in an adapter arrives as `snakepit.python.name`. */
export const PYTHON_EVENT_PREFIX = 'snakepit.python.' as const;


interface WorkerFacts {
  pool: string;
  workerId: string;
}

interface CallFacts {
  pool: string;
  tool: string;
  durationMs: number;
  queueWaitMs: number;
  executionMs: number;
  /** Whether it reached a worker. */
  ran: boolean;
  attempts: number;
}

interface ExitFacts extends WorkerFacts {
  pid: number | undefined;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

/** The payload of each event (see the catalogue above). */
export interface EventMap {
  'snakepit.pool.ready': { pool: string; workers: number };
  'snakepit.pool.failed': { pool: string; code: string; message: string };
  'snakepit.pool.recovered': { pool: string; workers: number };
  'snakepit.pool.saturated': { pool: string; queued: number; maxQueueSize: number };
  'snakepit.request.finished': CallFacts & { cancelled: boolean };
  'snakepit.request.failed': CallFacts & { code: string };
  'snakepit.worker.spawned': WorkerFacts & { pid: number | undefined };
  'snakepit.worker.ready': WorkerFacts & { pid: number | undefined; startupMs: number };
  'snakepit.worker.recycled': WorkerFacts & { reason: RecycleReason; successorId: string };
  'snakepit.worker.crashed': ExitFacts & { classification: CrashClassification; inFlight: boolean };
  'snakepit.worker.unresponsive': WorkerFacts & { pid: number | undefined; missedHeartbeats: number };
  'snakepit.worker.tainted': WorkerFacts & { replaces?: string; taintMs: number };
  'snakepit.tool.poisonSuspected': { pool: string; tool: string; crashes: number; windowMs: number; lastCrashAt: string };
  'snakepit.worker.restarted': WorkerFacts & { replaces?: string; delayMs: number; restartsInWindow: number };
  'snakepit.worker.terminated': ExitFacts & { reason: StopReason | 'crash' };
  'snakepit.call.retried': { pool: string; tool: string; attempt: number; delayMs: number; code: string };
  'snakepit.orphans.reaped': { instanceName: string; runs: string[]; killed: number[] };
  'snakepit.session.created': { sessionId: string };
  'snakepit.session.expired': { sessionId: string; idleMs: number };
  'snakepit.session.deleted': { sessionId: string };
  'snakepit.session.rehomed': { sessionId: string; from: string; to: string };
  'snakepit.host_tool.called': { tool: string; sessionId?: string; workerId?: string; durationMs: number; ok: boolean };
  'snakepit.bridge.refused': { method: string; peer: string };
  [python: `snakepit.python.${string}`]: PythonEventPayload;
}

/** What an adapter's `self.emit(name, measurements, metadata)` arrives as. */
export interface PythonEventPayload {
  workerId?: string;
  sessionId?: string;
  measurements: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

export type SnakepitEventName = keyof EventMap;
export type EventName = SnakepitEventName;

type CatalogueName = (typeof SnakepitEvent)[keyof typeof SnakepitEvent];
type MustBeEmpty<T extends never> = T;
/** Fails to compile when an event of the catalogue has no payload type in EventMap. */
export type EveryEventHasAPayload = MustBeEmpty<Exclude<CatalogueName, Exclude<keyof EventMap, `snakepit.python.${string}`>>>;
