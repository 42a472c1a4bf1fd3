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
  /** { tool, sessionId, workerId, durationMs, ok } — Python called a host tool. */
  HostToolCalled: 'snakepit.host_tool.called',
  /** { method, peer } — a call to the host bridge without the right secret was refused. */
  BridgeCallRefused: 'snakepit.bridge.refused',
} as const;

/** Python's own events: `self.emit('name', …)` in an adapter arrives as `snakepit.python.name`. */
export const PYTHON_EVENT_PREFIX = 'snakepit.python.';

export type SnakepitEventName = (typeof SnakepitEvent)[keyof typeof SnakepitEvent] | `snakepit.python.${string}`;
