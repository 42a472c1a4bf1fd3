import type { StreamChunk } from '../pool/chunk-stream';
import { normalizeResult } from './fake-call';

/** A fake tool's stream once it has started: its values, and how to read them within the call's limits. */
export interface OpenedStream {
  source: AsyncIterator<unknown>;
  /** Reads the next value within the call's time and signal. */
  read: () => Promise<IteratorResult<unknown>>;
  /** Tells the tool to stop (its context's signal). */
  abort: (reason: Error) => void;
}

export type StreamOutcome = { kind: 'ok' } | { kind: 'cancelled' } | { kind: 'error'; error: unknown };

type State = { kind: 'opening' } | { kind: 'open'; stream: OpenedStream } | { kind: 'ended' };

/**
 * The chunks of a fake streaming tool, as a real pool gives them: `{ data, index, final }`, the
 * last one final (so one value is held back until the next one, or the end, is known), the
 * chunks before an error delivered before it, and `return()` at once, even while a read waits.
 */
export class FakeChunkStream<T> implements AsyncIterableIterator<StreamChunk<T>> {
  private state: State = { kind: 'opening' };
  private readonly opening: Promise<OpenedStream>;
  private held: { value: unknown } | undefined;
  private readonly ready: StreamChunk<T>[] = [];
  private failure: { error: unknown } | undefined;
  private index = 0;
  private stopReading!: () => void;
  private readonly stopped = new Promise<'stopped'>((resolve) => (this.stopReading = () => resolve('stopped')));

  constructor(open: () => Promise<OpenedStream>, private readonly onEnd: (outcome: StreamOutcome) => void) {
    this.opening = open();
    this.opening.then(
      (stream) => {
        if (this.state.kind === 'opening') this.state = { kind: 'open', stream };
        else void stream.source.return?.().catch(() => undefined); // returned before it opened
      },
      () => undefined,
    );
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<StreamChunk<T>>> {
    for (;;) {
      if (this.ready.length) return { done: false, value: this.ready.shift()! };
      if (this.failure) {
        const { error } = this.failure;
        this.failure = undefined;
        throw error;
      }
      if (this.state.kind === 'ended') return { done: true, value: undefined };
      let read: IteratorResult<unknown> | 'stopped';
      try {
        read = await Promise.race([this.opening.then((stream) => stream.read()), this.stopped]);
      } catch (error) {
        this.end({ kind: 'error', error });
        if (this.held) this.deliver(this.held.value, false);
        this.failure = { error };
        continue;
      }
      if (read === 'stopped') return { done: true, value: undefined };
      this.take(read);
    }
  }

  async return(): Promise<IteratorResult<StreamChunk<T>>> {
    if (this.state.kind !== 'ended') {
      const open = this.state.kind === 'open' ? this.state.stream : undefined;
      this.end({ kind: 'cancelled' });
      this.stopReading();
      // The tool is told, and its generator's finally runs.
      open?.abort(new Error('the consumer stopped reading the stream'));
      void open?.source.return?.().catch(() => undefined);
    }
    this.ready.length = 0;
    return { done: true, value: undefined };
  }

  /** One value read from the tool: the held one can go now, marked final if this was the end. */
  private take(read: IteratorResult<unknown>): void {
    if (!read.done) {
      if (this.held) this.deliver(this.held.value, false);
      this.held = { value: read.value };
      return;
    }
    const returned = read.value !== undefined;
    if (this.held) this.deliver(this.held.value, !returned);
    if (returned) this.deliver(read.value, true);
    this.held = undefined;
    this.end({ kind: 'ok' });
  }

  private deliver(value: unknown, final: boolean): void {
    this.ready.push({ data: normalizeResult(value) as T, index: this.index++, final });
    this.held = undefined;
  }

  private end(outcome: StreamOutcome): void {
    if (this.state.kind === 'ended') return;
    this.state = { kind: 'ended' };
    this.onEnd(outcome);
  }
}
