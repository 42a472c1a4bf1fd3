import { randomUUID } from 'node:crypto';
import { HostLostError, NoHostAvailableError, PayloadTooLargeError, RemoteProtocolError, RequestAbortedError, RequestTimeoutError, SerializationError } from '../../errors';
import { fromStandaloneJson, standaloneJson } from '../../data/standalone-value';
import { ValueEncodingError } from '../../data/value-encoder';
import { assertValidCall } from '../../pool/call-validation';
import type { SessionExecuteOptions } from '../../pool/pool.types';
import { startClientSpan, type CallSpan } from '../../telemetry/tracing';
import { errorFromWire, isWireError } from '../error-wire';
import type { RemoteSubjects } from '../remote-subjects';
import { REMOTE_PROTOCOL, type RemoteCallRequest } from '../remote-wire';
import type { ResolvedRemoteOptions } from '../remote-options';
import { ENVELOPE_BYTES, REMOTE_PAYLOAD_HINT } from '../host/frames';
import type { HostDirectory } from './host-directory';
import type { HostPlacer } from './host-placer';
import { attempt, type AttemptEnd } from './remote-attempt';
import type { RemoteClient } from './remote-client';
import type { RemoteSessions } from './remote-sessions';
import type { ChunkSink } from './remote-chunk-stream';

/** Wait between tries while the broker cannot be reached. */
const BROKER_RETRY_MS = 100;

type TerminalFrame = Extract<AttemptEnd, { kind: 'frame' }>['frame'];

/** One remote call as the runner drives it: what to send, and where its chunks go. */
interface CallPlan {
  tool: string;
  argsText: string;
  options: SessionExecuteOptions;
  sessionId?: string;
  stream?: { window: number; sink: ChunkSink; setCurrent(hostId: string, callId: string): void; sawChunk(): boolean };
}

/**
 * Runs remote calls: places each on a host (one with free capacity, or the session's owner),
 * sends it, and follows it to its end. A call that never arrived (the host had no room or was
 * gone, the broker was down) is placed again within its queue timeout; one whose host was lost
 * while it ran is retried elsewhere only when idempotent (and, a stream, before its first chunk),
 * else it fails with HostLostError.
 */
export class RemoteCalls {
  constructor(
    private readonly client: RemoteClient,
    private readonly subjects: RemoteSubjects,
    private readonly directory: HostDirectory,
    private readonly placer: HostPlacer,
    private readonly sessions: RemoteSessions,
    private readonly options: ResolvedRemoteOptions,
  ) {}

  /** Checks a call (InvalidCallError, as PoolService does) and gives its arguments as standalone
   *  JSON: SerializationError for what cannot be sent, PayloadTooLargeError past maxPayloadBytes. */
  prepare(tool: string, args: Record<string, unknown> | undefined, options: SessionExecuteOptions): string {
    assertValidCall(tool, options);
    let text: string;
    try {
      text = standaloneJson(args ?? {}, 'args');
    } catch (error) {
      if (error instanceof ValueEncodingError) throw new SerializationError('arguments', tool, error.message, error.path);
      throw error;
    }
    const bytes = Buffer.byteLength(text) + ENVELOPE_BYTES;
    if (bytes > this.options.maxPayloadBytes) {
      throw new PayloadTooLargeError('arguments', tool, `${bytes} bytes on the broker, over maxPayloadBytes (${this.options.maxPayloadBytes})`, REMOTE_PAYLOAD_HINT);
    }
    return text;
  }

  async execute(tool: string, args: Record<string, unknown> | undefined, options: SessionExecuteOptions, sessionId?: string): Promise<unknown> {
    const frame = await this.run({ tool, argsText: this.prepare(tool, args, options), options, sessionId });
    if (frame.kind !== 'result' || typeof frame.value !== 'string') throw new RemoteProtocolError(frame.hostId, `a "${frame.kind}" frame where a result was due`);
    return decode(frame.value, frame.hostId);
  }

  /** Feeds a stream's chunks into `sink` until it ends. */
  async stream(tool: string, argsText: string, options: SessionExecuteOptions, sink: ChunkSink, window: number, setCurrent: (hostId: string, callId: string) => void, sessionId?: string): Promise<void> {
    let chunks = 0;
    try {
      const plan: CallPlan = {
        tool,
        argsText,
        options,
        sessionId,
        stream: {
          window,
          sink: { push: (chunk) => (chunks++, sink.push(chunk)), end: () => sink.end(), fail: (error) => sink.fail(error) },
          setCurrent,
          sawChunk: () => chunks > 0,
        },
      };
      const frame = await this.run(plan);
      if (frame.kind !== 'end') throw new RemoteProtocolError(frame.hostId, `a "${frame.kind}" frame where the end of a stream was due`);
      sink.end();
    } catch (error) {
      sink.fail(error as Error);
    }
  }

  private async run(plan: CallPlan): Promise<TerminalFrame & { hostId: string }> {
    const { tool, options } = plan;
    const started = Date.now();
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs;
    const deadline = started + timeoutMs;
    const queueDeadline = Math.min(deadline, started + this.options.queueTimeoutMs);
    const span = startClientSpan(`snakepit.remote.${plan.stream ? 'stream' : 'execute'} ${tool}`, { 'snakepit.tool': tool, 'snakepit.pool': options.pool ?? 'default' });
    const lostHosts = new Set<string>();
    let retries = 0;
    /** It waited its turn once already (it never ran, or it runs again after its host was
     *  lost): it waits at the head of the line, not behind the calls that came after it. */
    let headOfLine = false;
    try {
      for (;;) {
        if (options.signal?.aborted) throw new RequestAbortedError(tool, options.signal.reason);
        if (Date.now() >= deadline) throw new RequestTimeoutError(tool, timeoutMs);
        const hostId = await this.hostFor(plan, lostHosts, queueDeadline, deadline, headOfLine);
        if (Date.now() >= deadline) {
          this.directory.end(hostId, options.pool);
          throw new RequestTimeoutError(tool, timeoutMs);
        }
        const callId = randomUUID();
        plan.stream?.setCurrent(hostId, callId);
        const end = await this.send(plan, hostId, callId, deadline, span);
        this.directory.end(hostId, options.pool);
        let outcome = this.judge(end, plan, hostId, timeoutMs, callId);
        if (outcome === 'unreachable') {
          // It never arrived: its host is gone (elsewhere then), or the broker is coming or going (wait).
          const gone = await this.directory.nobodyListens(hostId, 'nobody listens on its subjects');
          outcome = !gone ? 'wait' : plan.sessionId === undefined ? 'again' : 'moved';
        }
        if (outcome === 'moved') {
          // It never ran, and its session's host is gone or leaving: another host adopts it.
          await this.sessions.rehome(plan.sessionId!, hostId, options.pool, options.signal, { queueDeadline, deadline });
          continue;
        }
        if (outcome === 'again') {
          headOfLine = true;
          continue;
        }
        if (outcome === 'wait') {
          // It never arrived: the broker is down, or just back and the host not yet subscribed again.
          headOfLine = false;
          if (Date.now() >= queueDeadline) throw new NoHostAvailableError(options.pool ?? 'default', Date.now() - started, end.kind === 'broker-down' ? 'broker_down' : 'no_hosts');
          await sleep(BROKER_RETRY_MS);
          continue;
        }
        if (outcome === 'lost') {
          lostHosts.add(hostId);
          const why = (end as { why?: string }).why ?? 'it was lost';
          if (!options.idempotent || retries >= this.options.maxRetries || plan.stream?.sawChunk()) throw new HostLostError(hostId, tool, why);
          retries++;
          headOfLine = true;
          if (plan.sessionId !== undefined) await this.sessions.rehome(plan.sessionId, hostId, options.pool, options.signal, { queueDeadline, deadline });
          continue;
        }
        span?.end();
        return outcome;
      }
    } catch (error) {
      span?.end(error as Error);
      throw error;
    }
  }

  /** Where the call goes now: the session's owner, or a host with room. */
  private async hostFor(plan: CallPlan, lostHosts: ReadonlySet<string>, queueDeadline: number, deadline: number, headOfLine: boolean): Promise<string> {
    const { options } = plan;
    if (plan.sessionId === undefined) return this.placer.place(options.pool, lostHosts, queueDeadline, options.signal, plan.tool, headOfLine);
    // Finding the owner (asking the store through a host, a probe, an adoption) is part of the
    // call: it ends by the call's deadlines, not by the session operations' own.
    const owner = await this.sessions.owner(plan.sessionId, options.pool, options.signal, { queueDeadline, deadline });
    this.directory.begin(owner, options.pool);
    return owner;
  }

  private send(plan: CallPlan, hostId: string, callId: string, deadline: number, span: CallSpan | undefined): Promise<AttemptEnd> {
    const { options } = plan;
    const request: RemoteCallRequest = {
      v: REMOTE_PROTOCOL,
      callId,
      pool: options.pool,
      tool: plan.tool,
      args: plan.argsText,
      timeoutMs: Math.max(1, deadline - Date.now()),
      idempotent: options.idempotent,
      validateArguments: options.validateArguments,
      sessionId: plan.sessionId,
      affinity: options.affinity,
      window: plan.stream?.window,
    };
    const sink = plan.stream?.sink;
    return attempt({
      client: this.client,
      directory: this.directory,
      hostId,
      subject: this.subjects.host(hostId).call,
      request: request as unknown as Record<string, unknown>,
      trace: span?.headers,
      hostLostAfterMs: this.options.hostLostAfterMs,
      deadline,
      signal: options.signal,
      onChunk: sink ? (frame) => sink.push({ data: decode(frame.data, hostId), index: frame.index, final: frame.final === true }) : undefined,
    });
  }

  /** What an attempt's end means: the frame to return, `again` (it never ran: place it again),
   *  `wait` (it never ran: place it again after a pause), `unreachable` (it never ran: nobody
   *  listened on its host's subjects), `moved` (it never ran, and its session needs another
   *  host), `lost` (its host went while it may have run); errors are thrown. */
  private judge(end: AttemptEnd, plan: CallPlan, hostId: string, timeoutMs: number, callId: string): (TerminalFrame & { hostId: string }) | 'again' | 'wait' | 'unreachable' | 'moved' | 'lost' {
    switch (end.kind) {
      case 'frame': {
        const frame = end.frame;
        if ('load' in frame) this.directory.noteLoad(hostId, frame.load);
        if (frame.kind === 'refused') {
          if (frame.why === 'closing') this.directory.noteClosing(hostId);
          return plan.sessionId === undefined ? 'again' : 'moved';
        }
        if (frame.kind === 'error') {
          if (!isWireError(frame.error)) throw new RemoteProtocolError(hostId, 'an error frame without an error');
          throw errorFromWire(frame.error, hostId);
        }
        return { ...frame, hostId };
      }
      case 'unreachable':
        return 'unreachable';
      case 'broker-down':
        return 'wait';
      case 'lost':
        if (end.cancel) this.cancel(hostId, callId);
        return 'lost';
      case 'timeout':
        this.cancel(hostId, callId);
        throw new RequestTimeoutError(plan.tool, timeoutMs);
      case 'aborted':
        this.cancel(hostId, callId);
        throw new RequestAbortedError(plan.tool, end.reason);
      case 'malformed':
        this.cancel(hostId, callId);
        throw new RemoteProtocolError(hostId, end.detail);
    }
  }

  /** Tells the host to stop a call (best effort); `stopped`: a stream whose reader stopped
   *  reading, which the host ends as a consumer would rather than as an abort. */
  cancel(hostId: string, callId: string, stopped = false): void {
    this.client.event(this.subjects.host(hostId).cancel, stopped ? { callId, stopped: true } : { callId });
  }

  credit(hostId: string, callId: string, chunks: number): void {
    this.client.event(this.subjects.host(hostId).credit, { callId, chunks });
  }
}

function decode(text: unknown, hostId: string): unknown {
  if (typeof text !== 'string') throw new RemoteProtocolError(hostId, 'a value that is not standalone JSON text');
  try {
    return fromStandaloneJson(text);
  } catch (error) {
    throw new RemoteProtocolError(hostId, `a value that does not parse (${(error as Error).message})`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

