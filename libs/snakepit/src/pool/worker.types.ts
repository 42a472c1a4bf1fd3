import type * as grpc from '@grpc/grpc-js';
import type { WireExecuteReply, WireExecuteRequest, WireStreamChunk } from '../bridge/wire';
import type { SnakepitError, WorkerExit } from '../errors';
import type { PythonProcessSpec } from '../process/python-process';
import type { WorkerLauncher } from '../process/worker-process';

/** A worker's state as `PoolService.listWorkers()` shows it (a recycling worker is `ready`, with `recycling: true`). */
export type WorkerState = 'starting' | 'ready' | 'stopping' | 'exited';

/** A worker's own state: `recycling` is being replaced by a successor. */
export type WorkerLifeState = 'starting' | 'ready' | 'recycling' | 'stopping' | 'exited';

/**
 * Why the host stopped a worker (none: it died by itself, a crash).
 * - `unresponsive`: it missed its heartbeats; `recycle`: it aged (TTL, requests, memory) or was
 *   recycled by hand; `stuck`: it kept running a call its caller gave up on; `protocol`: its
 *   replies were unreadable or its channel broke; `shutdown`: the pool closed or failed;
 *   `unwanted`: it became ready when the pool no longer needed it; `startup`: its start failed.
 */
export type StopReason = 'startup' | 'unresponsive' | 'recycle' | 'stuck' | 'protocol' | 'shutdown' | 'unwanted';

/** A JSON Schema (draft 2020-12) document, as the bridge derives it from Python type hints. */
export type JsonSchema = Record<string, unknown>;

/**
 * A tool's contract, derived in Python from its type hints, defaults and docstring: the schema
 * of its keyword arguments (an object), of its result and, for a streaming tool, of each chunk.
 * Values that are not JSON are marked `"x-snakepit-type"`: `bytes`, `ndarray` (with `dtype`
 * where the hint gives one) and `datetime`. A tool without hints has open schemas (`{}`).
 */
export interface ToolSchemas {
  arguments: JsonSchema;
  result: JsonSchema;
  chunk?: JsonSchema;
  description: string;
}

/** A Python tool as the worker describes it. */
export interface PythonToolInfo {
  name: string;
  description: string;
  supportsStreaming: boolean;
  parameters: unknown[];
  /** Undefined from a bridge that predates schemas. */
  schemas?: ToolSchemas;
}

/** A snapshot of one worker, as `PoolService.listWorkers()` shows it. */
export interface WorkerInfo {
  id: string;
  pool: string;
  pid: number | undefined;
  state: WorkerState;
  /** Calls running on it now. */
  inFlight: number;
  /** Calls it has finished, in any way. */
  requests: number;
  startedAt: string;
  readyAt?: string;
  /** Resident memory when last sampled (only with recycle.memoryLimitMb). */
  rssBytes?: number;
  /** Being replaced by a successor (it finishes its call first). */
  recycling: boolean;
  /** Set once the pool has stopped it. */
  stopReason?: StopReason;
}

/** A streaming call on a worker, as the pool reads it: its chunks, its end, and flow control. */
export interface WorkerStream {
  on(event: 'data', listener: (chunk: WireStreamChunk) => void): unknown;
  on(event: 'error', listener: (error: grpc.ServiceError) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  pause(): unknown;
  resume(): unknown;
}

/** What the pool and its fleet use of a worker (the seam for tests with a fake one). */
export interface PoolWorker {
  readonly id: string;
  readonly pool: string;
  readonly pid: number | undefined;
  /** Resolves with the pid once it is known (at once for a spawned worker; a forked one's comes
   *  from its template), undefined if the process never started. */
  readonly pidKnown: Promise<number | undefined>;
  readonly startedAt: Date;
  readonly readyAt?: Date;
  readonly tools: PythonToolInfo[];
  /** Calls it has finished. */
  readonly requests: number;
  readonly state: WorkerLifeState;
  readonly serving: boolean;
  /** Its channel works: a call given to it now reaches it. */
  readonly reachable: boolean;
  readonly recycled: boolean;
  readonly stopReason?: StopReason;
  readonly rssBytes?: number;
  readonly exited: Promise<WorkerExit>;
  start(): Promise<void>;
  markRecycling(): boolean;
  recordMemory(rssBytes: number): void;
  /** Runs one call. With `onStarted`, the call is sent ahead (it may wait on the worker behind
   *  others), and `onStarted` is told when the worker starts it. */
  execute(request: WireExecuteRequest, onStarted?: () => void): Promise<WireExecuteReply>;
  openStream(request: WireExecuteRequest, onStarted?: () => void): WorkerStream;
  cancel(requestId: string): void;
  ping(timeoutMs: number): Promise<void>;
  stop(killTimeoutMs: number, reason: StopReason): Promise<void>;
  kill(reason: StopReason, facts?: { missedHeartbeats?: number }): void;
  explainFailure(error: grpc.ServiceError, tool: string): Promise<SnakepitError>;
  info(inFlight: number): WorkerInfo;
}

/** Makes the workers of a pool: real Python processes, or fakes in unit tests. */
export type WorkerFactory = (id: string, pool: string, spec: Omit<PythonProcessSpec, 'workerId'>, launcher: WorkerLauncher) => PoolWorker;
