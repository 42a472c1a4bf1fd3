import type { CallSpan } from '../telemetry/tracing';
import type { ChunkStream } from './chunk-stream';
import type { Placement } from './scheduler';

/** What executeInSession adds to a call. */
export interface SessionCall {
  sessionId: string;
  /** The session's last worker and how strictly to stick to it. */
  placement?: Placement;
  /** Told which worker runs the call, so the session can follow it. */
  onDispatch(workerId: string): void;
  /** Told once the call is over for its caller (result, error, or consumer gone). */
  onDone?(): void;
}

/** One call from the moment PoolService accepts it until its promise settles. */
export interface PendingCall {
  kind: 'unary' | 'stream';
  /** Streams: where the chunks go. */
  chunks?: ChunkStream;
  /** Streams: asks Python to stop and drains what is left. */
  stopStream?: () => void;
  /** After a cancel: how long the worker may take to finish before it is replaced. */
  graceTimer?: NodeJS.Timeout;
  id: string;
  tool: string;
  args: Buffer;
  /** queued → running → done; a running call whose caller gave up becomes abandoned. */
  state: 'queued' | 'running' | 'abandoned' | 'done';
  workerId?: string;
  /** The session the call belongs to, when made through executeInSession. */
  session?: SessionCall;
  /** May run again on another worker if its worker dies (crash barrier). */
  idempotent: boolean;
  /** Retries so far. */
  attempts: number;
  /** performance.now() when the pool accepted it, and when a worker first took it. */
  arrivedAt: number;
  dispatchedAt?: number;
  /** It outlived its caller and cancelGraceMs: its worker is stopped once only such calls are left. */
  stuck?: boolean;
  /** Its OpenTelemetry span, when the application traces. */
  span?: CallSpan;
  /** Set while the call waits in a ready pool's queue (queue.timeoutMs). */
  queueTimer?: NodeJS.Timeout;
  resolve(value: unknown): void;
  reject(error: Error): void;
  /** Timers and listeners to clear when the call settles. */
  cleanup: Array<() => void>;
}

/** A stuck call ended after all: its worker no longer counts it. */
export function unstick(call: PendingCall, worker: { stuckCalls: number }): void {
  if (!call.stuck) return;
  call.stuck = false;
  worker.stuckCalls--;
}
