import type { DataPlane } from '../data/data-plane';
import { SHAREABLE, ValueEncodingError, type ShareableValue } from '../data/value-encoder';
import {
  InvalidCallError,
  SerializationError,
  SharedMemoryBudgetError,
  SharedValueClosedError,
} from '../errors';
import { MAX_TIMER_MS } from '../options/options.schema';

/** What a pool's shared values hold now (in stats()). */
export interface SharedValueStats {
  /** Shared values not closed yet. */
  values: number;
  /** The bytes in shared memory (JSON and buffers): those values', and closed ones' that calls
   *  still hold. What the budget counts. */
  bytes: number;
  budgetBytes: number;
}

export interface ShareOptions {
  /** Closed after this long, unless closed before; 0: never. Default: the pool's sharedMemory.shareTtlMs. */
  ttlMs?: number;
}

/**
 * Data written once to shared memory for many calls (pool.share): pass it inside arguments
 * instead of the data, and only its name crosses to the worker. Close it (or `await using` it)
 * when done; a call that uses it keeps its data until that call is over.
 */
export class SharedValue implements ShareableValue, AsyncDisposable {
  /** @internal */
  readonly [SHAREABLE] = true as const;
  private holds = 0;
  private state: 'open' | 'closed' | 'expired' = 'open';
  private timer?: NodeJS.Timeout;

  constructor(
    /** How it is known in the run's shared-memory directory. */
    readonly name: string,
    /** What it holds (JSON and buffers). */
    readonly bytes: number,
    private readonly files: string[],
    private readonly owner: SharedValues,
    ttlMs: number,
  ) {
    if (ttlMs > 0) {
      this.timer = setTimeout(() => this.end('expired'), ttlMs);
      this.timer.unref();
    }
  }

  get closed(): boolean {
    return this.state !== 'open';
  }

  /** @internal the name the encoder sends; a closed value throws SharedValueClosedError. */
  get sharedName(): string {
    if (this.state !== 'open') throw new SharedValueClosedError(this.name, this.state);
    return this.name;
  }

  /** @internal a call that sends it holds its files until it is over. */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.holds === 0 && this.state !== 'open') this.owner.remove(this, this.files);
    };
  }

  /** Lets go of the data: calls that use it keep it until they are over; new ones are refused. */
  async close(): Promise<void> {
    this.end('closed');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.end('closed');
  }

  private end(why: 'closed' | 'expired'): void {
    if (this.state !== 'open') return;
    this.state = why;
    clearTimeout(this.timer);
    this.owner.forget(this);
    if (this.holds === 0) this.owner.remove(this, this.files);
  }

  toJSON(): Record<string, unknown> {
    return { sharedValue: this.name, bytes: this.bytes, closed: this.closed };
  }
}

/** A pool's shared values, within its budget. */
export class SharedValues {
  private readonly open = new Set<SharedValue>();
  private used = 0;

  constructor(
    private readonly pool: string,
    private readonly data: DataPlane,
    private readonly budgetBytes: number,
    private readonly ttlMs: number,
  ) {}

  share(value: unknown, options: ShareOptions = {}): SharedValue {
    const ttlMs = options.ttlMs ?? this.ttlMs;
    if (!Number.isInteger(ttlMs) || ttlMs < 0 || ttlMs > MAX_TIMER_MS) {
      throw new InvalidCallError([`ttlMs must be a whole number of milliseconds from 0 (never) to ${MAX_TIMER_MS}, got ${String(options.ttlMs)}`]);
    }
    let encoded;
    try {
      encoded = this.data.encodeShared(value);
    } catch (error) {
      if (error instanceof ValueEncodingError) throw new SerializationError('arguments', 'pool.share', error.message, error.path);
      throw error;
    }
    const bytes = Buffer.byteLength(encoded.json) + encoded.buffers.reduce((sum, b) => sum + b.byteLength, 0);
    if (this.used + bytes > this.budgetBytes) throw new SharedMemoryBudgetError(this.pool, bytes, this.used, this.budgetBytes);
    const written = this.data.writeShared(encoded);
    const shared = new SharedValue(written.name, bytes, written.files, this, ttlMs);
    this.open.add(shared);
    this.used += bytes;
    return shared;
  }

  stats(): SharedValueStats {
    return { values: this.open.size, bytes: this.used, budgetBytes: this.budgetBytes };
  }

  /** Closes every shared value (the pool closes). */
  closeAll(): void {
    for (const shared of [...this.open]) void shared.close();
  }

  /** @internal it is closed: no new call may use it. */
  forget(shared: SharedValue): void {
    this.open.delete(shared);
  }

  /** @internal its files go (closed, and no call holds it): its bytes leave the budget. */
  remove(shared: SharedValue, files: readonly string[]): void {
    this.used -= shared.bytes;
    this.data.release(files);
  }
}
