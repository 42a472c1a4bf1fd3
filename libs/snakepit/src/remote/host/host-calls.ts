import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { Observable, type Subscriber } from 'rxjs';
import { InvalidCallError, RequestAbortedError, RequestTimeoutError, StreamConsumerIdleError } from '../../errors';
import { fromStandaloneJson } from '../../data/standalone-value';
import { PoolService } from '../../pool/pool.service';
import { SessionService } from '../../session/session.service';
import type { StreamChunk } from '../../pool/chunk-stream';
import type { PoolLoad } from '../../pool/pool.types';
import { inServerSpan } from '../../telemetry/tracing';
import { callRequestProblems, isCancelMessage, isCreditMessage } from '../request-checks';
import type { HostAnnouncement, HostLoad, RemoteCallRequest, RemoteFrame } from '../remote-wire';
import type { ResolvedHostOptions } from '../remote-options';
import { errorFrame, valueText } from './frames';
import { SNAKEPIT_HOST_OPTIONS } from './host-options.token';

/** W3C trace context that came with a request (from the transport's headers, or its body). */
export interface TraceContext {
  traceparent?: string;
  tracestate?: string;
}

/** How long shutdown waits for the remote calls running here to answer. */
const DRAIN_MS = 10_000;

/** A call this host runs for a caller: how to stop it, and (a stream) how to give it credit. */
interface RunningCall {
  tool: string;
  abort: AbortController;
  credit?: (chunks: number) => void;
  /** A stream: ends it as its reader stopping (set once it runs). */
  stop?: () => void;
  /** Its reader stopped: a cancel that comes after is not an abort. */
  stopped?: boolean;
}

/**
 * Runs the calls callers send through the broker on this host's pools, as streams of frames:
 * `alive` every heartbeatMs while it runs, then the result, the chunks (no more ahead of the
 * reader than its credit) or the error. A call that is not in a session is refused at once
 * (`refused`, it never runs) when its pool has no free capacity, so that the caller places it on
 * another host instead of it waiting here.
 */
@Injectable()
export class HostCalls implements BeforeApplicationShutdown {
  private readonly running = new Map<string, RunningCall>();
  private readonly startedAt = Date.now();
  private closing = false;

  constructor(
    @Inject(SNAKEPIT_HOST_OPTIONS) private readonly options: ResolvedHostOptions,
    private readonly pools: PoolService,
    private readonly sessions: SessionService,
  ) {}

  get hostId(): string {
    return this.options.hostId;
  }

  /** From now on every new call is refused (`closing`): callers go to other hosts. The calls
   *  running here end (the pools drain them) and their answers go out before the transport
   *  closes, for up to DRAIN_MS. */
  async beforeApplicationShutdown(): Promise<void> {
    this.closing = true;
    const until = Date.now() + DRAIN_MS;
    while (this.running.size > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  /** How busy each pool of this host is. */
  load(): HostLoad {
    const load: HostLoad = {};
    for (const name of this.pools.listPools()) load[name] = this.poolLoad(name);
    return load;
  }

  /** A pool's load as callers see it: what it takes ahead counts acceptAheadPerWorker too. */
  private poolLoad(name: string | undefined): PoolLoad {
    const load = this.pools.load(name);
    return { ...load, ahead: Math.max(load.ahead, load.workers * this.options.acceptAheadPerWorker) };
  }

  announcement(): HostAnnouncement {
    const pools = this.load();
    const names = Object.keys(pools);
    return { hostId: this.hostId, startedAt: this.startedAt, defaultPool: names.includes('default') || names.length !== 1 ? 'default' : names[0], pools };
  }

  /** The full stats of every pool and the sessions of this host. */
  async statsFrame(): Promise<RemoteFrame> {
    try {
      const pools = Object.fromEntries(this.pools.listPools().map((name) => [name, this.pools.stats(name)]));
      return { kind: 'answer', hostId: this.hostId, body: { hostId: this.hostId, startedAt: this.startedAt, pools, sessions: await this.sessions.stats().catch(() => undefined) } };
    } catch (error) {
      return errorFrame(this.hostId, error);
    }
  }

  /** One call or stream, as the frames its caller gets. */
  call(request: unknown, trace: TraceContext): Observable<RemoteFrame> {
    return new Observable<RemoteFrame>((subscriber) => {
      const problems = callRequestProblems(request, this.options.maxStreamWindow);
      if (problems.length) {
        subscriber.next(errorFrame(this.hostId, new InvalidCallError(problems)));
        subscriber.complete();
        return undefined;
      }
      const call = request as RemoteCallRequest;
      const refusal = this.refusal(call);
      if (refusal) {
        subscriber.next(refusal);
        subscriber.complete();
        return undefined;
      }
      return this.run(call, trace, subscriber);
    });
  }

  /** Credit for a stream this host sends (from its caller's reader). */
  credit(message: unknown): void {
    if (isCreditMessage(message)) this.running.get(message.callId)?.credit?.(message.chunks);
  }

  /** The caller gave up on a call: it stops here too. */
  cancel(message: unknown): void {
    if (!isCancelMessage(message)) return;
    const running = this.running.get(message.callId);
    if (!running || running.stopped) return;
    if (message.stopped && running.stop) {
      running.stopped = true;
      running.stop();
    } else running.abort.abort(new RequestAbortedError(running.tool, new Error('cancelled by its caller')));
  }

  /** Why this host will not run `call` now, as the frame that says so; undefined when it will. */
  private refusal(call: RemoteCallRequest): RemoteFrame | undefined {
    if (this.closing) return { kind: 'refused', hostId: this.hostId, load: this.load(), why: 'closing' };
    if (call.sessionId !== undefined) return undefined; // its Python objects live here: it waits here
    let pool;
    try {
      pool = this.poolLoad(call.pool);
    } catch (error) {
      return errorFrame(this.hostId, error); // no such pool here
    }
    if (pool.status === 'ready' && pool.inFlight < pool.capacity + pool.ahead) return undefined;
    return { kind: 'refused', hostId: this.hostId, load: this.load(), why: 'busy' };
  }

  private run(call: RemoteCallRequest, trace: TraceContext, subscriber: Subscriber<RemoteFrame>): () => void {
    const abort = new AbortController();
    const running: RunningCall = { tool: call.tool, abort };
    this.running.set(call.callId, running);
    const heartbeat = setInterval(() => subscriber.next({ kind: 'alive' }), this.options.heartbeatMs);
    const deadline = setTimeout(() => abort.abort(new RequestTimeoutError(call.tool, call.timeoutMs)), call.timeoutMs);
    const kind = call.window === undefined ? 'execute' : 'stream';
    const work = () => (call.window === undefined ? this.unary(call, abort.signal, subscriber) : this.stream(call, abort.signal, running, subscriber));
    let settled = false;
    inServerSpan(`snakepit.remote.${kind} ${call.tool}`, { 'snakepit.tool': call.tool, 'snakepit.host': this.hostId }, trace.traceparent ?? call.traceparent, trace.tracestate ?? call.tracestate, work)
      .catch((error: unknown) => subscriber.next(errorFrame(this.hostId, error, this.load())))
      .finally(() => {
        settled = true;
        clearInterval(heartbeat);
        clearTimeout(deadline);
        this.running.delete(call.callId);
        subscriber.complete();
      });
    return () => {
      clearInterval(heartbeat);
      // Only a call still running has anything to stop: this runs after every call's end too
      // (its complete()), where building the two errors cost more than the rest of the teardown.
      if (!settled && !abort.signal.aborted) abort.abort(new RequestAbortedError(call.tool, new Error('the transport closed')));
    };
  }

  private async unary(call: RemoteCallRequest, signal: AbortSignal, subscriber: Subscriber<RemoteFrame>): Promise<void> {
    const args = argumentsOf(call);
    const options = { pool: call.pool, timeoutMs: call.timeoutMs, signal, idempotent: call.idempotent, validateArguments: call.validateArguments, affinity: call.affinity };
    const value = call.sessionId === undefined ? await this.pools.execute(call.tool, args, options) : await this.pools.executeInSession(call.sessionId, call.tool, args, options);
    subscriber.next({ kind: 'result', hostId: this.hostId, value: valueText(value, call.tool, 'result', this.options.maxPayloadBytes), load: this.load() });
  }

  /** Sends the chunks as the caller's credit allows: without credit the host stops reading, and
   *  so Python stops producing (the pool's back-pressure). */
  private async stream(call: RemoteCallRequest, signal: AbortSignal, running: RunningCall, subscriber: Subscriber<RemoteFrame>): Promise<void> {
    let credit = call.window!;
    let wake: (() => void) | undefined;
    running.credit = (chunks) => {
      credit += chunks;
      wake?.();
    };
    const args = argumentsOf(call);
    const options = { pool: call.pool, timeoutMs: call.timeoutMs, signal, idempotent: call.idempotent, validateArguments: call.validateArguments, affinity: call.affinity };
    const chunks: AsyncIterableIterator<StreamChunk> =
      call.sessionId === undefined ? this.pools.executeStream(call.tool, args, options) : this.pools.executeStreamInSession(call.sessionId, call.tool, args, options);
    // The reader stopped: the pool's stream is closed as a consumer closes it (a read waiting
    // for a chunk ends, and so does a wait for credit), not aborted.
    running.stop = () => {
      wake?.();
      void chunks.return?.();
    };
    let sent = 0;
    for await (const chunk of chunks) {
      if (running.stopped) return;
      while (credit <= 0) {
        if (signal.aborted) throw signal.reason;
        const credited = await new Promise<boolean>((resolve) => {
          const settle = (result: boolean) => {
            clearTimeout(timer);
            signal.removeEventListener('abort', onAbort);
            resolve(result);
          };
          const timer = setTimeout(() => settle(false), this.options.creditTimeoutMs);
          const onAbort = () => settle(true); // the loop sees the signal and stops
          wake = () => settle(true);
          signal.addEventListener('abort', onAbort, { once: true });
        });
        wake = undefined;
        if (running.stopped) return;
        if (!credited) throw new StreamConsumerIdleError(call.tool, this.options.creditTimeoutMs);
      }
      credit--;
      sent++;
      subscriber.next({ kind: 'chunk', index: chunk.index, data: valueText(chunk.data, call.tool, `chunk ${chunk.index}`, this.options.maxPayloadBytes), final: chunk.final });
    }
    if (running.stopped) return; // nobody reads an end
    subscriber.next({ kind: 'end', hostId: this.hostId, load: this.load(), chunks: sent });
  }
}

/** The arguments of a call, as JavaScript: an object, or InvalidCallError. */
function argumentsOf(call: RemoteCallRequest): Record<string, unknown> {
  let args: unknown;
  try {
    args = fromStandaloneJson(call.args);
  } catch (error) {
    throw new InvalidCallError([`args is not standalone JSON: ${(error as Error).message}`]);
  }
  if (typeof args !== 'object' || args === null || Array.isArray(args)) throw new InvalidCallError(['args must be an object of keyword arguments']);
  return args as Record<string, unknown>;
}
