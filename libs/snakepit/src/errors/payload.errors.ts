import { SnakepitError } from './snakepit.error';

/** A value cannot travel (arguments before sending, or a tool's result): `path` says where
 *  the bad part sits ("args.items[3].when"), when it is known. */
export class SerializationError extends SnakepitError {
  readonly code = 'serialization_failed';
  constructor(
    readonly direction: 'arguments' | 'result',
    readonly tool: string,
    detail: string,
    readonly path?: string,
  ) {
    super(
      direction === 'arguments'
        ? `Arguments for "${tool}" cannot be sent: ${detail}. Pass JSON values, Buffers, typed arrays (or ndarray(data, shape)), Dates and bigints.`
        : `The result of "${tool}" cannot be sent back: ${detail}`,
    );
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), tool: this.tool, direction: this.direction, ...(this.path ? { path: this.path } : {}) };
  }
}

/** Shared memory failed: a segment could not be written, read or found. */
export class SharedMemoryError extends SnakepitError {
  readonly code = 'shared_memory_failed';
  constructor(detail: string, options?: { cause?: unknown }) {
    super(
      `Shared memory failed: ${detail}. Check that the shared-memory directory (sharedMemoryDir, /dev/shm by default) ` +
        'is writable and has room (a container may need a larger /dev/shm: docker run --shm-size), or raise ' +
        'sharedMemory.thresholdBytes to keep more buffers inside messages.',
      options,
    );
  }
}

/** A value holds more in shared memory than sharedMemory.maxValueBytes allows. */
export class SharedMemoryLimitError extends SnakepitError {
  readonly code = 'shared_memory_limit_exceeded';
  constructor(
    readonly bytes: number,
    readonly maxValueBytes: number,
  ) {
    super(`A value holds ${bytes} bytes in shared memory, over sharedMemory.maxValueBytes (${maxValueBytes}). Send the data in smaller pieces, or raise sharedMemory.maxValueBytes.`);
  }
}

/** pool.share() would take the pool past sharedMemory.budgetBytes. */
export class SharedMemoryBudgetError extends SnakepitError {
  readonly code = 'shared_memory_budget_exceeded';
  constructor(
    readonly pool: string,
    readonly requestedBytes: number,
    readonly usedBytes: number,
    readonly budgetBytes: number,
  ) {
    super(
      `Pool "${pool}" cannot share ${requestedBytes} more bytes: its shared values hold ${usedBytes} of a budget of ${budgetBytes} bytes. ` +
        'Close shared values no longer needed, or raise sharedMemory.budgetBytes.',
    );
  }
}

/** A shared value was used after close() (or after its TTL ran out). */
export class SharedValueClosedError extends SnakepitError {
  readonly code = 'shared_value_closed';
  constructor(readonly sharedName: string, readonly why: 'closed' | 'expired') {
    super(`Shared value ${sharedName} is ${why === 'closed' ? 'closed' : 'past its TTL'}; share the data again (pool.share) to use it.`);
  }
}

/** A message is larger than maxMessageBytes allows (or, remote, the broker's maxPayloadBytes). */
export class PayloadTooLargeError extends SnakepitError {
  readonly code = 'payload_too_large';
  constructor(
    readonly direction: 'arguments' | 'result',
    readonly tool: string,
    detail: string,
    hint = 'Raise maxMessageBytes, or send the data in smaller pieces.',
  ) {
    super(`The ${direction} of "${tool}" ${direction === 'result' ? 'is' : 'are'} too large (${detail}). ${hint}`);
  }
}
