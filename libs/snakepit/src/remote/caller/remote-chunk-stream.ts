import type { StreamChunk } from '../../pool/chunk-stream';

/** Where the call runner delivers a remote stream. */
export interface ChunkSink {
  push(chunk: StreamChunk): void;
  end(): void;
  fail(error: Error): void;
}

/**
 * A remote stream for its reader (`for await`): chunks arrive at most `window` ahead of the
 * reader, because the reader gives the host credit for half a window each time it has taken
 * that many. Breaking out of the loop (return) cancels the stream on the host.
 */
export class RemoteChunkStream<T> implements AsyncIterableIterator<StreamChunk<T>>, ChunkSink {
  private readonly buffer: StreamChunk<T>[] = [];
  private readers: Array<{ resolve(result: IteratorResult<StreamChunk<T>>): void; reject(error: Error): void }> = [];
  private ended = false;
  private failure?: Error;
  private taken = 0;
  /** Set by the runner: gives the host credit for more chunks, and stops the stream. */
  onCredit: (chunks: number) => void = () => undefined;
  onCancel: () => void = () => undefined;

  constructor(private readonly window: number) {}

  [Symbol.asyncIterator](): AsyncIterableIterator<StreamChunk<T>> {
    return this;
  }

  next(): Promise<IteratorResult<StreamChunk<T>>> {
    const chunk = this.buffer.shift();
    if (chunk) {
      this.took();
      return Promise.resolve({ value: chunk, done: false });
    }
    if (this.failure) {
      const failure = this.failure;
      this.failure = undefined;
      this.ended = true;
      return Promise.reject(failure);
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.readers.push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<StreamChunk<T>>> {
    if (!this.ended) {
      this.ended = true;
      this.buffer.length = 0;
      this.failure = undefined;
      for (const reader of this.readers.splice(0)) reader.resolve({ value: undefined, done: true });
      this.onCancel();
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<StreamChunk<T>>> {
    void this.return();
    return Promise.reject(error);
  }

  /** How many chunks wait for the reader (never more than the window). */
  get buffered(): number {
    return this.buffer.length;
  }

  push(chunk: StreamChunk): void {
    if (this.ended) return;
    if (this.buffer.length >= this.window) throw new Error(`the host sent more than the window of ${this.window} chunks ahead of the reader`);
    const reader = this.readers.shift();
    if (reader) {
      this.took();
      reader.resolve({ value: chunk as StreamChunk<T>, done: false });
    } else this.buffer.push(chunk as StreamChunk<T>);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const reader of this.readers.splice(0)) reader.resolve({ value: undefined, done: true });
  }

  fail(error: Error): void {
    if (this.ended) return;
    const reader = this.readers.shift();
    if (reader) {
      this.ended = true;
      reader.reject(error);
      for (const other of this.readers.splice(0)) other.resolve({ value: undefined, done: true });
    } else this.failure = error;
  }

  private took(): void {
    const half = Math.max(1, Math.floor(this.window / 2));
    if (++this.taken >= half) {
      this.onCredit(this.taken);
      this.taken = 0;
    }
  }
}
