import type { SharedValueStats } from './shared-values';
import type { AffinityMode } from '../options/snakepit-options.interface';
import type { PoisonTool } from '../supervision/poison-detector';
import type { CallLatency, ToolMetrics } from '../telemetry/call-metrics';

/** Per-call options of PoolService.execute(). */
export interface ExecuteOptions {
  /** Pool to run in. Default: "default", or the only pool there is. */
  pool?: string;
  /** Time limit for the whole call, queue wait included. Default: the pool's requestTimeoutMs. */
  timeoutMs?: number;
  /** Aborting it cancels the call: a waiting call leaves the queue, a running one frees its worker. */
  signal?: AbortSignal;
  /** Safe to run twice: if its worker dies during the call (crash, or killed for missing its
   *  heartbeats), it is retried on another worker, up to crashBarrier.maxRetries times. A stream
   *  is retried only if it had not sent a chunk yet. Default false. */
  idempotent?: boolean;
  /** Check the arguments against the tool's JSON Schema (from its Python type hints) before the
   *  call queues; a mismatch is ToolArgumentsError, and the call never reaches Python. Default:
   *  the pool's `validateArguments` (true). */
  validateArguments?: boolean;
}

/** Options of PoolService.executeInSession(). */
export interface SessionExecuteOptions extends ExecuteOptions {
  /** How to pick the worker for this call. Default: the pool's `affinity` option. */
  affinity?: AffinityMode;
}

export type PoolStatus = 'starting' | 'ready' | 'failed' | 'closing' | 'closed';

/** How busy a pool is, as `PoolService.load()` returns it (and remote hosts report it). */
export interface PoolLoad {
  /** Calls it runs at once with the workers ready now (ready workers × calls per worker). */
  capacity: number;
  /** Calls it holds beyond that, sent ahead to busy workers (ready workers × prefetchPerWorker). */
  ahead: number;
  /** Workers ready. */
  workers: number;
  /** Calls open: running, or waiting for a worker. */
  inFlight: number;
  status: PoolStatus;
}

/** Counters and gauges of one pool, as `PoolService.stats()` returns them. */
export interface PoolStats {
  pool: string;
  status: PoolStatus;
  workers: { total: number; starting: number; ready: number; stopping: number };
  /** Workers running a call now. */
  busy: number;
  /** Calls waiting for a worker. */
  queued: number;
  /** Calls accepted since start. */
  requests: number;
  succeeded: number;
  /** Calls that ended in an error of any kind (timeouts, crashes and Python exceptions included). */
  errors: number;
  timeouts: number;
  aborted: number;
  /** Streams their consumer stopped reading before the end (break, return()). */
  cancelled: number;
  /** Calls refused because the queue was full. */
  rejected: number;
  /** Workers that died without being asked to. */
  crashes: number;
  /** Workers killed because they missed their heartbeats. */
  unresponsive: number;
  /** Workers started to replace one that died or was killed (recycling not included). */
  restarts: number;
  /** Healthy workers replaced by a successor (TTL, requests, memory, or by hand). */
  recycled: number;
  /** Idempotent calls sent to another worker after theirs died. */
  retries: number;
  /** Queue wait and execution time (p50, p95, p99, max, in ms) of every call that reached a worker. */
  latency: CallLatency;
  /** The same, with call and error counts, per tool. */
  tools: Record<string, ToolMetrics>;
  /** Tools under which at least restart.poisonCrashes workers died within restart.windowMs. */
  poisonTools: PoisonTool[];
  /** Shared memory: the run's directory (undefined when the pool keeps buffers inside messages)
   *  and the pool's shared values (pool.share). */
  sharedMemory: SharedValueStats & { directory?: string; thresholdBytes?: number };
}
