import * as grpc from '@grpc/grpc-js';
import { EventEmitter } from 'node:events';
import {
  wireValueBytes,
  type WireExecuteReply,
  type WireExecuteRequest,
  type WireHostFrame,
  type WireStreamChunk,
  type WireWorkerFrame,
  type WorkerChannelCall,
} from './wire';

/** Chunks a stream may send ahead of its consumer, at most; more are granted as the consumer
 *  reads. A stream starts with credit for one chunk: its size says how much more it gets. */
export const STREAM_CREDIT = 16;
const FIRST_CREDIT = 1;
/** Bytes of chunks a stream may have on their way, going by the size of its last chunk: big
 *  chunks get less credit (one at least), so what waits on the host stays bounded in bytes. */
export const STREAM_CREDIT_BYTES = 8 * 1024 * 1024;
/** More than the tags, lengths and numbers of a frame take around its strings (an upper bound,
 *  so frames that share a message never pass the limit). */
const FRAME_OVERHEAD = 64;
/** A credit, cancel or ping frame, at most. */
const SMALL_FRAME_BYTES = 24;

type Pending =
  | { kind: 'unary'; requestId: string; onStarted?: () => void; resolve(reply: WireExecuteReply): void; reject(error: grpc.ServiceError): void }
  | { kind: 'stream'; requestId: string; onStarted?: () => void; stream: ChannelStream }
  | { kind: 'ping'; resolve(): void; reject(error: grpc.ServiceError): void; timer: NodeJS.Timeout };

/**
 * The host's end of one worker's channel: a long-lived bidirectional gRPC stream carrying all
 * its calls, multiplexed by call number. Frames written in the same turn of the event loop
 * travel in one message. A stream gets STREAM_CREDIT chunks of credit and more as its consumer
 * reads, so a paused consumer holds up its own call and no other. When the stream fails or the
 * worker ends it, every call on it fails with that error, and `onBroken` hears of it once.
 */
export class WorkerChannel {
  private readonly call: WorkerChannelCall;
  private readonly pending = new Map<number, Pending>();
  private readonly byRequestId = new Map<string, number>();
  private readonly creditDue = new Set<ChannelStream>();
  private outgoing: WireHostFrame[] = [];
  private outgoingBytes = 0;
  private flushing = false;
  private lastCall = 0;
  private failure?: grpc.ServiceError;
  private closing = false;
  private markEnded!: () => void;
  /** Resolves once the channel is over (it failed, the worker ended it, or the host closed it). */
  readonly ended = new Promise<void>((resolve) => (this.markEnded = resolve));

  constructor(
    open: () => WorkerChannelCall,
    private readonly maxMessageBytes: number,
    private readonly onBroken: (error: grpc.ServiceError) => void,
  ) {
    this.call = open();
    this.call.on('data', (message: { frames: WireWorkerFrame[] }) => this.receive(message.frames));
    this.call.on('error', (error: grpc.ServiceError) => this.fail(error));
    this.call.on('status', (status: grpc.StatusObject) => {
      if (status.code === grpc.status.OK) this.fail(channelError(grpc.status.UNAVAILABLE, 'the worker ended its channel'));
    });
  }

  /** Runs one call; rejects with the channel's failure (a gRPC-shaped error). With
   *  `onStarted`, the call is sent ahead, and the worker says when it starts it. */
  execute(request: WireExecuteRequest, onStarted?: () => void): Promise<WireExecuteReply> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      const call = this.open({ kind: 'unary', requestId: request.requestId, onStarted, resolve, reject }, request.requestId);
      this.send({ call, execute: request, reportStart: onStarted !== undefined }, requestBytes(request));
    });
  }

  /** Opens a streaming call: its chunks as 'data', then 'close' (after 'error' if it broke). */
  openStream(request: WireExecuteRequest, onStarted?: () => void): ChannelStream {
    const stream = new ChannelStream(this);
    if (this.failure) {
      const failure = this.failure;
      setImmediate(() => stream.broke(failure));
      return stream;
    }
    stream.call = this.open({ kind: 'stream', requestId: request.requestId, onStarted, stream }, request.requestId);
    this.send({ call: stream.call, stream: { request, credit: FIRST_CREDIT }, reportStart: onStarted !== undefined }, requestBytes(request));
    return stream;
  }

  /** Asks Python to stop the call with this request id, if it still runs. */
  cancel(requestId: string): void {
    const call = this.byRequestId.get(requestId);
    if (call !== undefined && !this.failure) this.send({ call, cancel: true });
  }

  /** Resolves when the worker answers a ping over the channel; rejects after `timeoutMs`. */
  ping(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      const call = ++this.lastCall;
      const timer = setTimeout(() => {
        this.pending.delete(call);
        reject(channelError(grpc.status.DEADLINE_EXCEEDED, `no answer to a ping within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(call, { kind: 'ping', resolve, reject, timer });
      this.send({ call, ping: true });
    });
  }

  /** The host is done with the worker: its calls fail, and `onBroken` is not told. */
  close(reason: string): void {
    this.closing = true;
    this.fail(channelError(grpc.status.UNAVAILABLE, reason));
    this.call.cancel();
  }

  /** A stream's consumer read a chunk: the stream may send one more (sent with the next frames). */
  grant(stream: ChannelStream): void {
    if (this.failure || stream.call === undefined) return;
    this.creditDue.add(stream);
    this.scheduleFlush();
  }

  private open(entry: Pending & { requestId: string }, requestId: string): number {
    const call = ++this.lastCall;
    this.pending.set(call, entry);
    this.byRequestId.set(requestId, call);
    return call;
  }

  private settled(call: number, entry: Pending): void {
    this.pending.delete(call);
    if (entry.kind !== 'ping') this.byRequestId.delete(entry.requestId);
  }

  private receive(frames: WireWorkerFrame[]): void {
    for (const frame of frames) {
      const entry = this.pending.get(frame.call);
      if (!entry) continue; // a ping answered after its timeout
      if (frame.body === 'started' && entry.kind !== 'ping' && entry.onStarted) {
        const onStarted = entry.onStarted;
        entry.onStarted = undefined;
        onStarted();
      } else if (entry.kind === 'unary' && frame.reply) {
        this.settled(frame.call, entry);
        entry.resolve(frame.reply);
      } else if (entry.kind === 'stream' && frame.chunk) {
        const last = frame.chunk.final || frame.chunk.payload === 'error';
        if (last) this.settled(frame.call, entry);
        entry.stream.deliver(frame.chunk, last);
      } else if (entry.kind === 'ping' && frame.pong) {
        this.settled(frame.call, entry);
        clearTimeout(entry.timer);
        entry.resolve();
      } else {
        // The worker breaks the protocol: the stream is cancelled, so that it stops its calls too.
        this.fail(channelError(grpc.status.INTERNAL, `the worker sent a ${frame.body ?? 'empty'} frame for a call that expects none`));
        this.call.cancel();
        return;
      }
    }
  }

  private send(frame: WireHostFrame, bytes = SMALL_FRAME_BYTES): void {
    if (this.outgoing.length > 0 && this.outgoingBytes + bytes > this.maxMessageBytes) this.write();
    this.outgoing.push(frame);
    this.outgoingBytes += bytes;
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushing) return;
    this.flushing = true;
    setImmediate(() => this.flush());
  }

  /** Writes the frames of this turn as one message (credits due included), or as few as fit. */
  private flush(): void {
    this.flushing = false;
    for (const stream of this.creditDue) {
      const credit = stream.takeCreditDue();
      if (credit === 0) continue;
      if (this.outgoingBytes + SMALL_FRAME_BYTES > this.maxMessageBytes) this.write();
      this.outgoing.push({ call: stream.call!, credit });
      this.outgoingBytes += SMALL_FRAME_BYTES;
    }
    this.creditDue.clear();
    this.write();
  }

  private write(): void {
    if (this.outgoing.length === 0 || this.failure) return;
    const frames = this.outgoing;
    this.outgoing = [];
    this.outgoingBytes = 0;
    this.call.write({ frames });
  }

  /** Calls sent ahead on it that have not reported their start yet. */
  get awaitingStarts(): boolean {
    for (const entry of this.pending.values()) if (entry.kind !== 'ping' && entry.onStarted) return true;
    return false;
  }

  /** True once the channel is over: calls on it fail at once, and never reach the worker. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  private fail(error: grpc.ServiceError): void {
    if (this.failure) return;
    this.failure = error;
    this.markEnded();
    const entries = [...this.pending.values()];
    this.pending.clear();
    this.byRequestId.clear();
    this.outgoing = [];
    for (const entry of entries) {
      if (entry.kind === 'stream') entry.stream.broke(error);
      else {
        if (entry.kind === 'ping') clearTimeout(entry.timer);
        entry.reject(error);
      }
    }
    if (!this.closing) this.onBroken(error);
  }
}

/**
 * One streaming call on the channel, as the pool reads it (a WorkerStream): 'data' per chunk,
 * 'error' if the channel broke, then 'close'. While paused it grants no credit, so the worker
 * stops once the credit it has is spent; while flowing, it keeps the worker's credit at
 * STREAM_CREDIT chunks, or fewer when chunks are big (STREAM_CREDIT_BYTES).
 */
export class ChannelStream extends EventEmitter {
  call?: number;
  private paused = false;
  /** Chunks the worker may still send. */
  private outstanding = FIRST_CREDIT;
  private lastChunkBytes = 0;
  private held: WireStreamChunk[] = [];
  private over = false;
  private closed = false;

  constructor(private readonly channel: WorkerChannel) {
    super();
  }

  pause(): this {
    this.paused = true;
    return this;
  }

  resume(): this {
    this.paused = false;
    while (this.held.length > 0 && !this.paused) this.emit('data', this.held.shift());
    if (this.over && this.held.length === 0) this.finish();
    if (!this.over) this.channel.grant(this);
    return this;
  }

  /** The credit to send now: what tops the worker's up to its window, while flowing. */
  takeCreditDue(): number {
    if (this.paused || this.over) return 0;
    const window = Math.max(1, Math.min(STREAM_CREDIT, Math.floor(STREAM_CREDIT_BYTES / Math.max(1, this.lastChunkBytes))));
    const grant = Math.max(0, window - this.outstanding);
    this.outstanding += grant;
    return grant;
  }

  deliver(chunk: WireStreamChunk, last: boolean): void {
    if (last) this.over = true;
    this.outstanding--;
    this.lastChunkBytes = wireValueBytes(chunk.data);
    // Chunks that arrive while paused (the credit already granted) wait here, in order.
    if (this.paused) {
      this.held.push(chunk);
      return;
    }
    this.emit('data', chunk);
    if (last) this.finish();
    else this.channel.grant(this);
  }

  broke(error: grpc.ServiceError): void {
    this.over = true;
    this.held = [];
    this.emit('error', error);
    this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close');
  }
}

/** An upper bound of a call frame's size on the wire. */
function requestBytes(request: WireExecuteRequest): number {
  const texts = request.tool + request.requestId + request.sessionId + (request.traceparent ?? '') + (request.tracestate ?? '');
  let args = request.args.json.byteLength;
  for (const buffer of request.args.buffers) args += (buffer.inline?.byteLength ?? 0) + (buffer.segment ? Buffer.byteLength(buffer.segment.name) + 24 : 0) + 8;
  return args + Buffer.byteLength(texts) + FRAME_OVERHEAD;
}

function channelError(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(`${code} ${grpc.status[code]}: ${details}`), { code, details, metadata: new grpc.Metadata() });
}
