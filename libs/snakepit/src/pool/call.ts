import type { WireValue } from '../bridge/wire';
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

/**
 * Where a call is. `queued`: in the scheduler's queue; `backoff`: waiting out the delay before a
 * retry (crash barrier); `running`: on a worker; `abandoned`: still on its worker, but its caller
 * has its answer (it gave up, or the stream's consumer left); `stuck`: abandoned and past
 * cancelGraceMs, so its worker is being replaced; `done`: off every worker.
 */
export type CallState = 'queued' | 'backoff' | 'running' | 'abandoned' | 'stuck' | 'done';

const NEXT: Readonly<Record<CallState, readonly CallState[]>> = {
  queued: ['running', 'done'],
  backoff: ['queued', 'done'],
  running: ['backoff', 'abandoned', 'done'],
  abandoned: ['stuck', 'done'],
  stuck: ['done'],
  done: [],
};

/** The states in which a call occupies a worker. */
export const ON_WORKER: ReadonlySet<CallState> = new Set(['running', 'abandoned', 'stuck']);

export interface CallInit {
  id: string;
  kind: 'unary' | 'stream';
  tool: string;
  args: WireValue;
  session?: SessionCall;
  idempotent: boolean;
  /** The caller's arguments, to check against the tool's schema at dispatch (the call came
   *  before the pool knew its tools). */
  uncheckedArgs?: unknown;
  chunks?: ChunkStream;
  span?: CallSpan;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** One call from the moment the pool accepts it until it is off every worker. */
export class Call {
  readonly id: string;
  readonly kind: 'unary' | 'stream';
  readonly tool: string;
  readonly args: WireValue;
  readonly session?: SessionCall;
  readonly idempotent: boolean;
  /** See CallInit.uncheckedArgs; cleared once checked. */
  uncheckedArgs?: unknown;
  /** Streams: where the chunks go. */
  readonly chunks?: ChunkStream;
  readonly span?: CallSpan;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  /** performance.now() when the pool accepted it, and when a worker first took it. */
  readonly arrivedAt = performance.now();
  dispatchedAt?: number;
  /** Retries so far. */
  attempts = 0;
  /** Set while a worker has it (running, abandoned, stuck). */
  workerId?: string;
  /** Sent ahead to a busy worker (prefetch), and not started there yet: if that worker dies,
   *  the call has not run, and goes back to the queue whether or not it is idempotent. */
  awaitingStart = false;
  /** Times it went back to the queue that way. */
  requeues = 0;
  /** While it runs: asks Python to stop (and a stream's rest to drain). */
  stopWork?: () => void;
  /** Once abandoned: cancelGraceMs for Python to stop before the call counts as stuck. */
  graceTimer?: NodeJS.Timeout;
  /** Timers and listeners to clear when the caller has its answer. */
  readonly cleanup: Array<() => void> = [];
  /** Set while it waits in a ready pool's queue (queue.timeoutMs). */
  queueTimer?: NodeJS.Timeout;
  private current: CallState = 'queued';

  constructor(init: CallInit) {
    this.id = init.id;
    this.kind = init.kind;
    this.tool = init.tool;
    this.args = init.args;
    this.session = init.session;
    this.idempotent = init.idempotent;
    this.uncheckedArgs = init.uncheckedArgs;
    this.chunks = init.chunks;
    this.span = init.span;
    this.resolve = init.resolve;
    this.reject = init.reject;
  }

  get state(): CallState {
    return this.current;
  }

  /** Whether `next` is a legal step from here. */
  can(next: CallState): boolean {
    return NEXT[this.current].includes(next);
  }

  /** Moves to `next`; an illegal step is a bug in the pool, and throws. Use CallBook.move, which
   *  keeps the index of calls by worker. */
  enter(next: CallState): void {
    if (!this.can(next)) throw new Error(`call ${this.id} ("${this.tool}") cannot go from ${this.current} to ${next}`);
    this.current = next;
  }
}
