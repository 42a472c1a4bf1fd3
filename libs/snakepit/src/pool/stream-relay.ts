import { decodeError } from '../bridge/codec';
import { wireValueBytes, type WireStreamChunk, type WireValue } from '../bridge/wire';
import { SharedMemoryLimitError, type SnakepitError } from '../errors';
import type { ChunkStream, SizedChunk } from './chunk-stream';

/**
 * The chunks of one stream on their way from the worker to the caller's ChunkStream, one chunk
 * behind, so that the last one can be marked final when the worker says the stream ended.
 */
export class StreamRelay {
  private held?: SizedChunk;
  private count = 0;
  /** Python reported an error: the stream is over for the caller. */
  failed = false;

  constructor(
    private readonly chunks: ChunkStream,
    private readonly tool: string,
    /** The value of a chunk (the pool's data plane: it reads and removes its segments). */
    private readonly decodeData: (value: WireValue | undefined) => unknown,
    private readonly sessionId?: string,
  ) {}

  /** How many chunks the worker has sent. */
  get received(): number {
    return this.count;
  }

  /**
   * One message from the worker. Returns Python's error when it reported one (after the chunks
   * before it). Throws a StreamViolation when the message cannot be read, or when the worker
   * ends the stream `cancelled`: the host stops relaying before it cancels, so a cancelled end
   * that reaches the relay was not asked for, and a stream cut short must never look complete.
   */
  take(wire: WireStreamChunk): SnakepitError | undefined {
    if (wire.cancelled) {
      this.flush();
      throw new StreamViolation('was ended as cancelled, though the host did not cancel it');
    }
    if (wire.payload === 'error') {
      this.flush();
      this.failed = true;
      return decodeError(this.tool, wire.error!, this.sessionId);
    }
    const hasData = wire.payload === 'data';
    if (this.held && (hasData || !wire.final)) this.chunks.push(this.held);
    else if (this.held) this.held = { ...this.held, final: true };
    if (hasData) this.held = { data: this.decode(wire), index: this.count++, final: wire.final, size: wireValueBytes(wire.data) };
    else if (!wire.final) this.held = undefined;
    if (wire.final && this.held) {
      this.chunks.push({ ...this.held, final: true });
      this.held = undefined;
    }
    return undefined;
  }

  private decode(wire: WireStreamChunk): unknown {
    try {
      return this.decodeData(wire.data);
    } catch (error) {
      if (error instanceof SharedMemoryLimitError) throw error; // too big, not garbage
      throw new StreamViolation('sent a chunk that cannot be read', { cause: error });
    }
  }

  /** The chunk held back goes out (the stream ended, or broke). */
  flush(): void {
    if (this.held) this.chunks.push(this.held);
    this.held = undefined;
  }
}

/** The worker broke the stream protocol; the call fails and the worker is replaced. */
export class StreamViolation extends Error {}

