import { SnakepitError } from './snakepit.error';

/** No pool has this name. */
export class PoolNotFoundError extends SnakepitError {
  readonly code = 'pool_not_found';
  constructor(readonly pool: string, readonly available: string[]) {
    super(`No pool named "${pool}". Configured pools: ${available.join(', ') || '(none)'}.`);
  }
}

/** `poolingEnabled: false`: no worker runs, so nothing can execute. */
export class PoolingDisabledError extends SnakepitError {
  readonly code = 'pooling_disabled';
  constructor() {
    super('Pooling is disabled (poolingEnabled: false), so no Python worker runs. Enable it to execute tools.');
  }
}

/** The pool is shutting down (or has shut down) and takes no more work. */
export class PoolClosedError extends SnakepitError {
  readonly code = 'pool_closed';
  constructor(readonly pool: string, detail = 'it is shutting down') {
    super(`Pool "${pool}" takes no more work: ${detail}.`);
  }
}

/** The wait queue is full. Retry later, add workers (poolSize) or raise queue.maxSize. */
export class PoolSaturatedError extends SnakepitError {
  readonly code = 'pool_saturated';
  constructor(readonly pool: string, readonly maxQueueSize: number, starting = false) {
    super(
      `Pool "${pool}" is saturated: ${starting ? 'no worker is ready yet' : 'all workers are busy'} and ` +
        `${maxQueueSize} calls already wait. Retry later, raise poolSize, or raise queue.maxSize.`,
    );
  }
}

/** The call waited in the queue longer than queue.timeoutMs without reaching a worker. */
export class QueueTimeoutError extends SnakepitError {
  readonly code = 'queue_timeout';
  constructor(readonly pool: string, readonly tool: string, readonly waitedMs: number) {
    super(
      `Call to "${tool}" waited ${waitedMs} ms for a free worker in pool "${pool}" and gave up ` +
        '(queue.timeoutMs). Raise poolSize or queue.timeoutMs, or send less work at once.',
    );
  }
}

/** The call did not finish within its timeout (opts.timeoutMs or requestTimeoutMs). */
export class RequestTimeoutError extends SnakepitError {
  readonly code = 'request_timeout';
  constructor(readonly tool: string, readonly timeoutMs: number) {
    super(`Call to "${tool}" did not finish within ${timeoutMs} ms. Raise timeoutMs or make the tool faster.`);
  }
}

/** A stream's consumer stopped reading (its buffer full) for streamIdleTimeoutMs: the stream was stopped. */
export class StreamConsumerIdleError extends SnakepitError {
  readonly code = 'stream_consumer_idle';
  constructor(readonly tool: string, readonly idleMs: number) {
    super(
      `The stream of "${tool}" was stopped: its consumer read nothing for ${idleMs} ms while chunks waited ` +
        '(streamIdleTimeoutMs), and a stalled reader must not hold a worker. Read faster, or raise streamIdleTimeoutMs.',
    );
  }
}

/** The caller's AbortSignal fired before the call finished. */
export class RequestAbortedError extends SnakepitError {
  readonly code = 'request_aborted';
  constructor(readonly tool: string, reason?: unknown) {
    super(`Call to "${tool}" was aborted by the caller${reason instanceof Error ? `: ${reason.message}` : ''}.`, {
      cause: reason,
    });
  }
}

/** The tool does not exist in this pool's adapter. */
export class UnknownToolError extends SnakepitError {
  readonly code = 'unknown_tool';
  constructor(readonly tool: string, readonly available: string[], readonly pool?: string) {
    super(
      `Unknown tool "${tool}"${pool ? ` in pool "${pool}"` : ''}. Available tools: ${available.join(', ') || '(none)'}.`,
    );
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), tool: this.tool, available: this.available };
  }
}

/** A streaming tool called with execute(), or a plain tool called with executeStream(). */
export class ToolKindError extends SnakepitError {
  readonly code = 'tool_kind_mismatch';
  constructor(readonly tool: string, readonly streaming: boolean) {
    super(
      streaming
        ? `"${tool}" is a streaming tool (@tool(supports_streaming=True)): call it with executeStream().`
        : `"${tool}" is not a streaming tool: call it with execute(), or mark it @tool(supports_streaming=True).`,
    );
  }
}

/** One argument that does not match its tool's schema: where it is (`args.items[2].x`) and
 *  what was expected there (`must be integer`). */
export interface ArgumentProblem {
  path: string;
  message: string;
}

/** The arguments do not match the tool's JSON Schema (derived from its Python type hints):
 *  checked on the host before the call queues, so the call never reached Python. `problems`
 *  lists every bad field. */
export class ToolArgumentsError extends SnakepitError {
  readonly code = 'tool_arguments_invalid';
  constructor(
    readonly tool: string,
    readonly problems: ArgumentProblem[],
  ) {
    super(`Invalid arguments for "${tool}": ${problems.map((problem) => `${problem.path} ${problem.message}`).join('; ')}.`);
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), tool: this.tool, problems: this.problems };
  }
}

/** The call itself is malformed (tool name, options): fix the calling code. */
export class InvalidCallError extends SnakepitError {
  readonly code = 'invalid_call';
  constructor(readonly problems: string[]) {
    super(`Invalid call: ${problems.join('; ')}.`);
  }
}

/** Workers of the pool kept dying: more than `restart.maxRestarts` replacements within
 *  `restart.windowMs`. The pool stopped spawning; calls fail with this error until it recovers. */
export class PoolFailedError extends SnakepitError {
  readonly code = 'pool_failed';
  private readonly failedAt = Date.now();
  constructor(
    readonly pool: string,
    readonly restarts: number,
    readonly windowMs: number,
    readonly cooldownMs: number,
    readonly lastFailure?: string,
  ) {
    super(
      `Pool "${pool}" has failed: its workers were replaced ${restarts} times within ${windowMs} ms ` +
        `(restart.maxRestarts), so it stopped restarting them. It tries again in ${cooldownMs} ms ` +
        `(restart.cooldownMs), or at once on PoolService.restart("${pool}"). Fix the cause first` +
        (lastFailure ? `; the last failure: ${lastFailure}` : '.'),
    );
  }

  /** How long until the pool tries to start again (HTTP answers it as Retry-After). */
  get retryAfterMs(): number {
    return Math.max(0, this.failedAt + this.cooldownMs - Date.now());
  }
}

/** No pool has a worker with this id (it may have been replaced already). */
export class WorkerNotFoundError extends SnakepitError {
  readonly code = 'worker_not_found';
  constructor(readonly workerId: string, readonly available: string[]) {
    super(
      `No worker "${workerId}" in any pool; it may have been replaced already. ` +
        `Workers now: ${available.join(', ') || '(none)'} (see PoolService.listWorkers()).`,
    );
  }
}
