/** One piece of a streaming tool's output. */
export interface StreamChunk<T = unknown> {
  data: T;
  /** 0, 1, 2, … in the order Python produced them. */
  index: number;
  /** True on the last chunk of a stream that ended normally. */
  final: boolean;
}

/** What the producer side does when the consumer slows down, catches up, or stops. */
export interface ChunkStreamControl {
  pause(): void;
  resume(): void;
  /** The consumer stopped early (break, return()). */
  cancel(): void;
}

const HIGH_WATER_MARK = 16;
const LOW_WATER_MARK = 4;

/**
 * The consumer's end of a stream: an AsyncIterableIterator with a small bounded buffer. When
 * the buffer fills, the producer is paused (and gRPC flow control then slows Python down);
 * when it drains, the producer resumes. A failure is delivered after the chunks before it.
 */
export class ChunkStream<T = unknown> implements AsyncIterableIterator<StreamChunk<T>> {
  private readonly buffer: StreamChunk<T>[] = [];
  private waiter?: { resolve(result: IteratorResult<StreamChunk<T>>): void; reject(error: Error): void };
  private error?: Error;
  private ended = false;
  private closed = false;
  private paused = false;
  private control?: ChunkStreamControl;
  private markFinished!: () => void;
  /** Resolves once the stream has ended, failed, or been closed by the consumer. */
  readonly finished = new Promise<void>((resolve) => (this.markFinished = resolve));

  /** A stream that fails on its first read (for calls refused before they start). */
  static failed<T>(error: Error): ChunkStream<T> {
    const stream = new ChunkStream<T>();
    stream.fail(error);
    return stream;
  }

  attach(control: ChunkStreamControl): void {
    this.control = control;
    if (this.closed) control.cancel();
  }

  push(chunk: StreamChunk<T>): void {
    if (this.closed || this.ended || this.error) return;
    if (this.waiter) return this.deliver({ value: chunk, done: false });
    this.buffer.push(chunk);
    if (!this.paused && this.buffer.length >= HIGH_WATER_MARK) {
      this.paused = true;
      this.control?.pause();
    }
  }

  end(): void {
    if (this.closed || this.ended || this.error) return;
    this.ended = true;
    if (this.buffer.length === 0) this.finish();
    if (this.waiter && this.buffer.length === 0) this.deliver({ value: undefined, done: true });
  }

  fail(error: Error): void {
    if (this.closed || this.ended || this.error) return;
    this.error = error;
    if (this.buffer.length === 0) this.finish();
    if (this.waiter && this.buffer.length === 0) {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter.reject(error);
    }
  }

  next(): Promise<IteratorResult<StreamChunk<T>>> {
    const chunk = this.buffer.shift();
    if (chunk) {
      if (this.paused && this.buffer.length <= LOW_WATER_MARK) {
        this.paused = false;
        this.control?.resume();
      }
      if (this.buffer.length === 0 && (this.ended || this.error)) this.finish();
      return Promise.resolve({ value: chunk, done: false });
    }
    if (this.error) {
      const error = this.error;
      this.error = undefined;
      this.closed = true;
      return Promise.reject(error);
    }
    if (this.ended || this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** The consumer stops early: the producer is told to cancel. */
  return(): Promise<IteratorResult<StreamChunk<T>>> {
    if (!this.closed && !this.ended && !this.error) this.control?.cancel();
    this.closed = true;
    this.buffer.length = 0;
    this.finish();
    this.waiter?.resolve({ value: undefined, done: true });
    this.waiter = undefined;
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<StreamChunk<T>>> {
    void this.return();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private deliver(result: IteratorResult<StreamChunk<T>>): void {
    const waiter = this.waiter!;
    this.waiter = undefined;
    waiter.resolve(result);
  }

  private finish(): void {
    this.markFinished();
  }
}
