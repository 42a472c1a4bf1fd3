import type { WireBuffer, WireValue } from '../bridge/wire';
import { SharedMemoryError, SharedMemoryLimitError } from '../errors';
import type { SharedMemoryDir } from '../process/shared-memory-dir';
import { decodeValue, ValueDecodingError } from './value-decoder';
import { encodeValue, type EncodedValue, type ShareableValue } from './value-encoder';

/** How a pool's buffers travel (options.sharedMemory). */
export interface DataPlaneOptions {
  /** Buffers of at least this many bytes go through shared memory; Infinity: none does. */
  thresholdBytes: number;
  /** The most one value may hold in shared memory, either way (sharedMemory.maxValueBytes);
   *  default 4 GiB. */
  maxValueBytes?: number;
}

const DEFAULT_MAX_VALUE_BYTES = 4 * 1024 * 1024 * 1024;

/** A value ready to send, the segments made for it and the shared values it names (all to be
 *  let go, with `release`, once its call is over). */
export interface OutgoingValue {
  value: WireValue;
  segments: string[];
  shared: ShareableValue[];
  /** What it adds to a message: its JSON and its inline buffers. */
  messageBytes: number;
}

/** Where each buffer of a segment starts: a multiple of this, so any element type is aligned. */
const SEGMENT_ALIGNMENT = 64;

/** Segments that workers make start with "w" (their prefix); the host's with "h" and "s". */
const WORKER_SEGMENT = /^w[a-z0-9]+\./;

/**
 * Turns values into wire Values and back for one pool: small buffers inside the message, large
 * ones (thresholdBytes and up) in one shared-memory segment per value. Reading a worker's value
 * removes the segments it names.
 */
export class DataPlane {
  /** Where this pool puts large buffers; undefined when they stay inside messages. */
  private readonly sending?: SharedMemoryDir;
  /** Each live worker's segment prefix. */
  private readonly prefixes = new Map<string, string>();

  /** `dir`: the run's segments, read and removed whatever the threshold (an Infinity one keeps
   *  what this pool sends inside messages). */
  constructor(private readonly dir: SharedMemoryDir | undefined, private readonly options: DataPlaneOptions) {
    this.sending = Number.isFinite(options.thresholdBytes) ? dir : undefined;
  }

  /** The run's shared-memory directory, when this pool sends through it. */
  private get maxValueBytes(): number {
    return this.options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES;
  }

  get directory(): string | undefined {
    return this.sending?.existing;
  }

  /** What a new worker is told: where segments are, its own prefix, and the threshold. Its
   *  replies may name only segments with that prefix (see incoming). */
  forWorker(workerId: string): { dir: string; prefix: string; thresholdBytes: number } | undefined {
    if (!this.sending) return undefined;
    const prefix = this.sending.newName('w');
    this.prefixes.set(workerId, prefix);
    return { dir: this.sending.path, prefix, thresholdBytes: this.options.thresholdBytes };
  }

  /** A value for a worker (`root` names it in errors: "args"). Throws ValueEncodingError. */
  outgoing(value: unknown, root: string): OutgoingValue {
    return this.place(encodeValue(value, { root }), 'h');
  }

  /** An encoded value with its large buffers in a segment whose name starts with `prefix`. */
  place(encoded: EncodedValue, prefix: string, forceShared = false): OutgoingValue {
    const json = Buffer.from(encoded.json, 'utf8');
    const dir = this.sending;
    const large = dir ? encoded.buffers.filter((b) => forceShared || b.byteLength >= this.options.thresholdBytes) : [];
    const inSegments = large.reduce((sum, b) => sum + b.byteLength, 0);
    if (inSegments > this.maxValueBytes) throw new SharedMemoryLimitError(inSegments, this.maxValueBytes);
    const segment = dir && large.length ? dir.newName(prefix) : undefined;
    const parts: Uint8Array[] = [];
    let offset = 0;
    let messageBytes = json.byteLength;
    const buffers = encoded.buffers.map((bytes): WireBuffer => {
      if (segment === undefined || !large.includes(bytes)) {
        messageBytes += bytes.byteLength + 8;
        // A copy: the message goes out later in this turn, and the call sends the value as it
        // was when it was made (a segment is written at once, for the same reason).
        return { inline: Buffer.from(bytes) };
      }
      const pad = (SEGMENT_ALIGNMENT - (offset % SEGMENT_ALIGNMENT)) % SEGMENT_ALIGNMENT;
      if (pad) parts.push(new Uint8Array(pad));
      offset += pad;
      parts.push(bytes);
      const at = { name: segment, offset, length: bytes.byteLength };
      offset += bytes.byteLength;
      return { segment: at };
    });
    if (segment !== undefined) {
      try {
        dir!.write(segment, parts);
      } catch (error) {
        throw new SharedMemoryError(`cannot write ${offset} bytes to ${dir!.path}: ${(error as Error).message}`, { cause: error });
      }
    }
    return { value: { json, buffers, tags: encoded.tags }, segments: segment === undefined ? [] : [segment], shared: encoded.shared, messageBytes };
  }

  /** A value to share with many calls (pool.share), encoded but not written yet. */
  encodeShared(value: unknown): EncodedValue {
    return encodeValue(value, { root: 'the shared value', refuseShared: true });
  }

  /** Writes a shared value: its buffers in one segment, and `<name>.meta` with its JSON and
   *  where its buffers are (priv/python/snakepit_bridge/_shared_values.py reads it). Returns
   *  its name and the files that hold it. */
  writeShared(encoded: EncodedValue): { name: string; files: string[] } {
    const dir = this.sending;
    if (!dir) throw new SharedMemoryError('this pool keeps buffers inside messages (sharedMemory.enabled: false), so it cannot share values');
    const placed = this.place(encoded, 's', true);
    const name = placed.segments[0] ?? dir.newName('s');
    const buffers = placed.value.buffers.map((b) => [b.segment!.name, b.segment!.offset, b.segment!.length]);
    const meta = JSON.stringify({ json: encoded.json, tags: encoded.tags, buffers });
    try {
      dir.write(`${name}.meta`, [Buffer.from(meta, 'utf8')]);
    } catch (error) {
      this.release(placed.segments);
      throw new SharedMemoryError(`cannot write ${name}.meta to ${dir.path}: ${(error as Error).message}`, { cause: error });
    }
    return { name, files: [...placed.segments, `${name}.meta`] };
  }

  /** A worker's value as JavaScript; the segments it names are read once, then removed. A
   *  value holding more than maxValueBytes in segments throws SharedMemoryLimitError, unread. */
  incoming(value: WireValue | undefined, fromWorker?: string): unknown {
    if (!value || value.json.byteLength === 0) return null;
    const own = fromWorker === undefined ? undefined : `${this.prefixes.get(fromWorker) ?? '-'}.`;
    try {
      const inSegments = value.buffers.reduce((sum, b) => sum + Number(b.segment?.length ?? 0), 0);
      if (inSegments > this.maxValueBytes) throw new SharedMemoryLimitError(inSegments, this.maxValueBytes);
      const json = Buffer.from(value.json.buffer, value.json.byteOffset, value.json.byteLength).toString('utf8');
      return decodeValue(json, value.tags, (index) => this.bytesOf(value.buffers, index, own));
    } finally {
      this.discard(value);
    }
  }

  /** Removes the segments a worker's value names, unread (its call was over already). */
  discard(value: WireValue | undefined): void {
    for (const buffer of value?.buffers ?? []) {
      if (buffer.segment && WORKER_SEGMENT.test(buffer.segment.name)) this.dir?.remove(buffer.segment.name);
    }
  }

  /** Removes segments the host made (a settled call's arguments). */
  release(segments: readonly string[]): void {
    for (const name of segments) this.dir?.remove(name);
  }

  /** What a call holds while it lives, from the moment it is accepted: its arguments' segments
   *  and the shared values they name. Returns the function that lets them go. */
  hold(outgoing: OutgoingValue): () => void {
    const letGo = outgoing.shared.map((value) => value.hold());
    return () => {
      this.release(outgoing.segments);
      for (const undo of letGo) undo();
    };
  }

  /** Removes what a worker left (it exited): every segment with its prefix. */
  sweep(workerId: string): void {
    const prefix = this.prefixes.get(workerId);
    this.prefixes.delete(workerId);
    if (prefix) this.dir?.removeStartingWith(`${prefix}.`);
  }

  /** Buffer `index`; a segment must be a worker's (`own`: that worker's prefix, when known). */
  private bytesOf(buffers: readonly WireBuffer[], index: number, own?: string): Buffer {
    const buffer = buffers[index];
    if (!buffer) throw new ValueDecodingError(`a tag names buffer ${index}, and the value has ${buffers.length}`);
    if (buffer.segment) {
      const { name, offset, length } = buffer.segment;
      const allowed = own === undefined ? WORKER_SEGMENT.test(name) : name.startsWith(own);
      if (!allowed || !this.dir) throw new ValueDecodingError(`segment ${JSON.stringify(name)} is not one this worker made`);
      return this.dir.read(name, Number(offset), Number(length));
    }
    const inline = buffer.inline ?? new Uint8Array(0);
    return Buffer.from(inline.buffer, inline.byteOffset, inline.byteLength);
  }
}
