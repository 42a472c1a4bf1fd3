/** One piece of a streaming tool's output. */
export interface StreamChunk<T = unknown> {
  data: T;
  /** 0, 1, 2, … in the order Python produced them. */
  index: number;
  /** True on the last chunk of a stream that ended normally. */
  final: boolean;
}

/** A chunk on its way in, with its size on the wire (for the byte bound). */
export type SizedChunk<T = unknown> = StreamChunk<T> & { size?: number };

/**
 * An iterator over a stream that starts later (after an async step such as a session lookup).
 * return() works at any time: before the start, the stream is cancelled as soon as it exists.
 */
export class DeferredChunkStream<T> implements AsyncIterableIterator<StreamChunk<T>> {
  private cancelled = false;

  constructor(private readonly inner: Promise<AsyncIterableIterator<StreamChunk<T>>>) {
    inner.catch(() => undefined);
  }

  async next(): Promise<IteratorResult<StreamChunk<T>>> {
    if (this.cancelled) return { value: undefined, done: true };
    return (await this.inner).next();
  }

  async return(): Promise<IteratorResult<StreamChunk<T>>> {
    this.cancelled = true;
    void this.inner.then((stream) => stream.return?.(), () => undefined);
    return { value: undefined, done: true };
  }

  async throw(error?: unknown): Promise<IteratorResult<StreamChunk<T>>> {
    await this.return();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** What the producer side does when the consumer slows down, catches up, or stops. */
export interface ChunkStreamControl {
  pause(): void;
  resume(): void;
  /** The consumer stopped early (break, return()). */
  cancel(): void;
  /** The consumer has read nothing for the idle timeout while the producer was paused. */
  idle?(): void;
}

/** The producer is paused when this many chunks, or this many bytes, wait for the consumer. */
const HIGH_WATER_MARK = 16;
const HIGH_WATER_BYTES = 8 * 1024 * 1024;
const LOW_WATER_MARK = 4;

/**
 * Where a stream is. `open`: the producer pushes (and may be `paused`, its buffer full);
 * `ended`: it has said the stream is over, the buffer drains; `failed`: its error comes after
 * the buffered chunks; `closed`: the consumer has everything (or left early).
 */
type Flow = { state: 'open'; paused: boolean } | { state: 'ended' } | { state: 'failed'; error: Error } | { state: 'closed' };

type Waiter = { resolve(result: IteratorResult<StreamChunk<never>>): void; reject(error: Error): void };

/**
 * The consumer's end of a stream: an AsyncIterableIterator with a small bounded buffer. When
 * the buffer fills, the producer is paused (and gRPC flow control then slows Python down);
 * when it drains, the producer resumes. A failure is delivered after the chunks before it.
 */
export class ChunkStream<T = unknown> implements AsyncIterableIterator<StreamChunk<T>> {
  private flow: Flow = { state: 'open', paused: false };
  private readonly buffer: SizedChunk<T>[] = [];
  private bufferedBytes = 0;
  private readonly waiters: Waiter[] = [];
  private control?: ChunkStreamControl;
  private idleTimer?: NodeJS.Timeout;
  private markFinished!: () => void;
  /** Resolves once the stream has ended, failed, or been closed by the consumer. */
  readonly finished = new Promise<void>((resolve) => (this.markFinished = resolve));

  /** `idleTimeoutMs`: how long the producer may stay paused by a consumer that reads nothing
   *  before `control.idle()` is called. */
  constructor(private readonly idleTimeoutMs?: number) {}

  /** A stream that fails on its first read (for calls refused before they start). */
  static failed<T>(error: Error): ChunkStream<T> {
    const stream = new ChunkStream<T>();
    stream.fail(error);
    return stream;
  }

  attach(control: ChunkStreamControl): void {
    this.control = control;
    if (this.flow.state === 'closed') control.cancel();
  }

  /** `size`, when given, is the chunk's size on the wire, for the byte bound. */
  push(chunk: SizedChunk<T>): void {
    if (this.flow.state !== 'open') return;
    const { size = 0, ...plain } = chunk;
    if (this.waiters.length) return this.waiters.shift()!.resolve({ value: plain as StreamChunk<never>, done: false });
    this.buffer.push(chunk);
    this.bufferedBytes += size;
    if (!this.flow.paused && (this.buffer.length >= HIGH_WATER_MARK || this.bufferedBytes >= HIGH_WATER_BYTES)) {
      this.flow.paused = true;
      this.control?.pause();
      this.armIdleTimer();
    }
  }

  end(): void {
    if (this.flow.state !== 'open') return;
    this.releaseProducer();
    this.flow = { state: 'ended' };
    if (this.buffer.length > 0) return;
    this.markFinished();
    for (const waiter of this.waiters.splice(0)) waiter.resolve({ value: undefined, done: true });
  }

  fail(error: Error): void {
    if (this.flow.state !== 'open') return;
    this.releaseProducer();
    if (this.buffer.length > 0 || this.waiters.length === 0) {
      this.flow = { state: 'failed', error };
      if (this.buffer.length === 0) this.markFinished();
      return;
    }
    this.flow = { state: 'closed' };
    this.markFinished();
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }

  next(): Promise<IteratorResult<StreamChunk<T>>> {
    const buffered = this.buffer.shift();
    if (buffered) {
      const { size = 0, ...chunk } = buffered;
      this.bufferedBytes -= size;
      if (this.flow.state === 'open' && this.flow.paused) {
        if (this.buffer.length <= LOW_WATER_MARK && this.bufferedBytes < HIGH_WATER_BYTES / 4) {
          this.flow.paused = false;
          clearTimeout(this.idleTimer);
          this.control?.resume();
        } else this.armIdleTimer(); // a slow reader still reads: the idle time starts again
      }
      if (this.buffer.length === 0 && (this.flow.state === 'ended' || this.flow.state === 'failed')) this.markFinished();
      return Promise.resolve({ value: chunk as StreamChunk<T>, done: false });
    }
    if (this.flow.state === 'failed') {
      const { error } = this.flow;
      this.flow = { state: 'closed' };
      return Promise.reject(error);
    }
    if (this.flow.state !== 'open') return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.waiters.push({ resolve: resolve as Waiter['resolve'], reject }));
  }

  /** The consumer stops early: the producer is told to cancel. */
  return(): Promise<IteratorResult<StreamChunk<T>>> {
    clearTimeout(this.idleTimer);
    if (this.flow.state === 'open') this.control?.cancel();
    this.flow = { state: 'closed' };
    this.buffer.length = 0;
    this.bufferedBytes = 0;
    this.markFinished();
    for (const waiter of this.waiters.splice(0)) waiter.resolve({ value: undefined, done: true });
    return Promise.resolve({ value: undefined, done: true });
  }

  /** While the producer is paused: `control.idle()` once the consumer has read nothing for idleTimeoutMs. */
  private armIdleTimer(): void {
    if (this.idleTimeoutMs === undefined) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.control?.idle?.(), this.idleTimeoutMs);
  }

  /** The stream is over for the producer: a paused one goes on, so that its call can end
   *  (gRPC does not close a paused call); nothing more it sends is kept. */
  private releaseProducer(): void {
    clearTimeout(this.idleTimer);
    if (this.flow.state === 'open' && this.flow.paused) this.control?.resume();
  }

  throw(error?: unknown): Promise<IteratorResult<StreamChunk<T>>> {
    void this.return();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
