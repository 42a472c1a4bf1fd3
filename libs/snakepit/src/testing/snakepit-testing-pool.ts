import { Inject, Injectable } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { encodeArgs } from '../bridge/codec';
import {
  PoolNotFoundError,
  RequestAbortedError,
  RequestTimeoutError,
  ToolKindError,
  UnknownToolError,
  WorkerNotFoundError,
} from '../errors';
import { DEFAULT_POOL_NAME } from '../options/resolve-options';
import { assertValidCall } from '../pool/call-validation';
import { chunksAsObservable } from '../pool/chunk-observable';
import type { StreamChunk } from '../pool/chunk-stream';
import type { ExecuteOptions, PoolStats, SessionExecuteOptions } from '../pool/pool.types';
import type { PythonToolInfo, WorkerInfo } from '../pool/worker';
import { SessionService } from '../session/session.service';
import { CallMetrics } from '../telemetry/call-metrics';
import { ToolRegistryService } from '../tools/tool-registry.service';
import type { FakeTool, FakeToolContext, RecordedCall, SnakepitTestingOptions } from './testing.types';

export const SNAKEPIT_TESTING_OPTIONS = Symbol('snakepit:testing-options');

/** The counters a fake pool keeps; the others stay 0 without workers. */
type Counters = Pick<PoolStats, 'requests' | 'succeeded' | 'errors' | 'timeouts' | 'aborted' | 'cancelled'>;

/**
 * PoolService without Python, for a host app's unit tests: each tool is a function of yours
 * (see SnakepitTestingModule). It keeps PoolService's contract: arguments are checked and sent
 * as a JSON copy, an unknown tool or pool and the wrong kind of call fail with the same errors,
 * timeouts and abort signals apply, sessions are real (SessionService, in memory), and a stream
 * gives `{ data, index, final }` chunks. `calls` records every call.
 */
@Injectable()
export class SnakepitTestingPool {
  readonly runId = 'testing';
  /** Every call received, oldest first. */
  readonly calls: RecordedCall[] = [];
  private readonly pools = new Map<string, Map<string, FakeTool>>();
  private readonly counters = new Map<string, Counters>();
  private readonly metrics = new Map<string, CallMetrics>();
  private ephemeral = 0;

  constructor(
    @Inject(SNAKEPIT_TESTING_OPTIONS) options: SnakepitTestingOptions,
    private readonly sessions: SessionService,
    private readonly hostTools: ToolRegistryService,
  ) {
    this.pools.set(DEFAULT_POOL_NAME, new Map(Object.entries(options.tools ?? {})));
    for (const [name, tools] of Object.entries(options.pools ?? {})) this.pools.set(name, new Map(Object.entries(tools)));
  }

  /** Adds or replaces a tool. */
  setTool(name: string, tool: FakeTool, pool = DEFAULT_POOL_NAME): void {
    if (!this.pools.has(pool)) this.pools.set(pool, new Map());
    this.pools.get(pool)!.set(name, tool);
  }

  /** The tools of a pool, as `ToolRegistryService.listPythonTools` shows them. */
  listTools(pool?: string): PythonToolInfo[] {
    return [...this.toolsOf(this.poolName(pool))]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, fn]) => ({ name, description: '', supportsStreaming: isStreamingTool(fn), parameters: [] }));
  }

  execute<T = unknown>(tool: string, args?: Record<string, unknown>, options: ExecuteOptions = {}): Promise<T> {
    return this.call<T>(tool, args, options);
  }

  async executeInSession<T = unknown>(sessionId: string, tool: string, args?: Record<string, unknown>, options: SessionExecuteOptions = {}): Promise<T> {
    const pool = this.poolName(options.pool);
    await this.sessions.touch(sessionId);
    this.sessions.beginCall(sessionId);
    try {
      this.sessions.bind(sessionId, pool, `${pool}-testing`);
      return await this.call<T>(tool, args, options, sessionId);
    } finally {
      this.sessions.endCall(sessionId);
    }
  }

  executeStream<T = unknown>(tool: string, args?: Record<string, unknown>, options: ExecuteOptions = {}): AsyncIterableIterator<StreamChunk<T>> {
    return this.stream<T>(tool, args, options);
  }

  executeStreamInSession<T = unknown>(sessionId: string, tool: string, args?: Record<string, unknown>, options: SessionExecuteOptions = {}): AsyncIterableIterator<StreamChunk<T>> {
    return this.stream<T>(tool, args, options, sessionId);
  }

  stream$<T = unknown>(tool: string, args?: Record<string, unknown>, options: ExecuteOptions = {}): Observable<StreamChunk<T>> {
    return chunksAsObservable(() => this.executeStream<T>(tool, args, options));
  }

  ready(pool?: string): Promise<void> {
    if (pool !== undefined) this.poolName(pool);
    return Promise.resolve();
  }

  stats(pool?: string): PoolStats {
    const name = this.poolName(pool);
    const counts = this.countersOf(name);
    const metrics = this.metricsOf(name);
    return {
      pool: name,
      status: 'ready',
      workers: { total: 1, starting: 0, ready: 1, stopping: 0 },
      busy: 0,
      queued: 0,
      ...counts,
      rejected: 0,
      crashes: 0,
      unresponsive: 0,
      restarts: 0,
      recycled: 0,
      retries: 0,
      latency: metrics.latency(),
      tools: metrics.byTool(),
    };
  }

  listWorkers(pool?: string): WorkerInfo[] {
    if (pool !== undefined) this.poolName(pool);
    return [];
  }

  recycle(workerId: string): Promise<void> {
    return Promise.reject(new WorkerNotFoundError(workerId, []));
  }

  restart(pool?: string): Promise<void> {
    return this.ready(pool);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  poolSize(pool?: string): number {
    this.poolName(pool);
    return 1;
  }

  listPools(): string[] {
    return [...this.pools.keys()];
  }

  private async call<T>(tool: string, args: Record<string, unknown> | undefined, options: ExecuteOptions, sessionId?: string): Promise<T> {
    const run = this.prepare(tool, args, options, sessionId, false);
    const started = Date.now();
    let ok = false;
    try {
      const result = await withLimits(tool, run.limits, run.controller, () => run.fn(run.args, run.context));
      ok = true;
      return normalizeResult(result) as T;
    } catch (error) {
      throw this.failed(run.pool, error);
    } finally {
      run.done(Date.now() - started, ok);
    }
  }

  private async *stream<T>(tool: string, args: Record<string, unknown> | undefined, options: ExecuteOptions, sessionId?: string): AsyncIterableIterator<StreamChunk<T>> {
    if (sessionId === undefined) return yield* this.chunks<T>(tool, args, options);
    await this.sessions.touch(sessionId);
    this.sessions.beginCall(sessionId);
    try {
      this.sessions.bind(sessionId, this.poolName(options.pool), `${this.poolName(options.pool)}-testing`);
      return yield* this.chunks<T>(tool, args, options, sessionId);
    } finally {
      this.sessions.endCall(sessionId);
    }
  }

  private async *chunks<T>(tool: string, args: Record<string, unknown> | undefined, options: ExecuteOptions, sessionId?: string): AsyncIterableIterator<StreamChunk<T>> {
    const run = this.prepare(tool, args, options, sessionId, true);
    const started = Date.now();
    let ok = false;
    let finished = false;
    const produced = run.fn(run.args, run.context) as AsyncIterable<unknown> | Iterable<unknown>;
    const source = Symbol.asyncIterator in Object(produced)
      ? (produced as AsyncIterable<unknown>)[Symbol.asyncIterator]()
      : (async function* () { yield* produced as Iterable<unknown>; })();
    // timeoutMs bounds the whole stream, as in a real pool.
    const next = () => withLimits(tool, run.limits, run.controller, () => source.next());
    try {
      let index = 0;
      let pending = await next();
      while (!pending.done) {
        const following = await next();
        const last = following.done && following.value === undefined;
        yield { data: normalizeResult(pending.value) as T, index: index++, final: Boolean(last) };
        if (following.done && !last) yield { data: normalizeResult(following.value) as T, index: index++, final: true };
        pending = following;
      }
      if (index === 0 && pending.value !== undefined) yield { data: normalizeResult(pending.value) as T, index: index++, final: true };
      ok = finished = true;
    } catch (error) {
      finished = true;
      throw this.failed(run.pool, error);
    } finally {
      if (!finished) {
        // The consumer stopped reading: the tool is told, and its generator's finally runs.
        this.countersOf(run.pool).cancelled++;
        run.controller.abort(new Error('the consumer stopped reading the stream'));
        await source.return?.();
        ok = true;
      }
      run.done(Date.now() - started, ok);
    }
  }

  /** Checks the call, records it, and builds what the tool gets. */
  private prepare(tool: string, args: Record<string, unknown> | undefined, options: ExecuteOptions, sessionId: string | undefined, stream: boolean) {
    assertValidCall(tool, options);
    const pool = this.poolName(options.pool);
    const tools = this.toolsOf(pool);
    const fn = tools.get(tool);
    if (!fn) throw new UnknownToolError(tool, [...tools.keys()].sort(), pool);
    if (isStreamingTool(fn) !== stream) throw new ToolKindError(tool, !stream);
    const input = JSON.parse(encodeArgs(tool, args).toString('utf8')) as Record<string, unknown>;
    this.calls.push({ pool, tool, args: input, sessionId, stream });
    this.countersOf(pool).requests++;
    const controller = new AbortController();
    const context = this.context(pool, tool, sessionId, controller.signal);
    const limits: Limits = { signal: options.signal, timeoutMs: options.timeoutMs, deadline: options.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs };
    return {
      pool,
      fn,
      args: input,
      controller,
      context,
      limits,
      done: (executionMs: number, ok: boolean) => {
        if (ok) this.countersOf(pool).succeeded++;
        this.metricsOf(pool).record(tool, 0, executionMs, ok);
      },
    };
  }

  private failed(pool: string, error: unknown): unknown {
    const counts = this.countersOf(pool);
    counts.errors++;
    if (error instanceof RequestTimeoutError) counts.timeouts++;
    if (error instanceof RequestAbortedError) counts.aborted++;
    return error;
  }

  private context(pool: string, tool: string, sessionId: string | undefined, signal: AbortSignal): FakeToolContext {
    const ephemeral = sessionId === undefined;
    const id = sessionId ?? `ephemeral-${++this.ephemeral}`;
    const local = new Map<string, unknown>();
    const sessions = this.sessions;
    return {
      pool,
      tool,
      sessionId: id,
      ephemeral,
      signal,
      async getState<T>(key: string, fallback?: T) {
        const value = ephemeral ? (local.get(key) as T | undefined) : await sessions.getState<T>(id, key);
        return value === undefined ? fallback : value;
      },
      async setState(key, value) {
        if (ephemeral) local.set(key, JSON.parse(JSON.stringify(value)));
        else await sessions.setState(id, key, value);
      },
      async deleteState(key) {
        if (ephemeral) local.delete(key);
        else await sessions.deleteState(id, key);
      },
      callHostTool: <T>(name: string, args: Record<string, unknown> = {}) =>
        this.hostTools.call(name, args, { sessionId: ephemeral ? undefined : id, workerId: `${pool}-testing` }) as Promise<T>,
    };
  }

  private poolName(pool?: string): string {
    const name = pool ?? (this.pools.has(DEFAULT_POOL_NAME) || this.pools.size !== 1 ? DEFAULT_POOL_NAME : [...this.pools.keys()][0]);
    if (!this.pools.has(name)) throw new PoolNotFoundError(name, this.listPools());
    return name;
  }

  private toolsOf(pool: string): Map<string, FakeTool> {
    return this.pools.get(pool)!;
  }

  private countersOf(pool: string): Counters {
    let counts = this.counters.get(pool);
    if (!counts) this.counters.set(pool, (counts = { requests: 0, succeeded: 0, errors: 0, timeouts: 0, aborted: 0, cancelled: 0 }));
    return counts;
  }

  private metricsOf(pool: string): CallMetrics {
    let metrics = this.metrics.get(pool);
    if (!metrics) this.metrics.set(pool, (metrics = new CallMetrics()));
    return metrics;
  }
}

function isStreamingTool(fn: FakeTool): boolean {
  const kind = Object.getPrototypeOf(fn)?.constructor?.name;
  return kind === 'AsyncGeneratorFunction' || kind === 'GeneratorFunction';
}

interface Limits {
  signal?: AbortSignal;
  timeoutMs?: number;
  /** When the call's time is up (Date.now() terms). */
  deadline?: number;
}

/** Runs `step` within the call's time and abort signal; running out of either aborts the tool's own signal too. */
async function withLimits<T>(tool: string, limits: Limits, controller: AbortController, step: () => T | Promise<T>): Promise<T> {
  const { signal, timeoutMs, deadline } = limits;
  if (signal?.aborted) throw new RequestAbortedError(tool, signal.reason);
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    if (deadline !== undefined) {
      timer = setTimeout(() => {
        controller.abort(new Error('timed out'));
        reject(new RequestTimeoutError(tool, timeoutMs!));
      }, Math.max(0, deadline - Date.now()));
    }
    if (signal) {
      onAbort = () => {
        controller.abort(signal.reason);
        reject(new RequestAbortedError(tool, signal.reason));
      };
      signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  try {
    // A call given up before its turn never starts the tool.
    const work = Promise.resolve().then(() => {
      if (controller.signal.aborted) throw controller.signal.reason;
      return step();
    });
    return await Promise.race([work, stop]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal!.removeEventListener('abort', onAbort);
  }
}

/** What the caller gets, as if it had crossed the wire: bytes as a Buffer, anything else a JSON copy. */
function normalizeResult(value: unknown): unknown {
  if (value === undefined) return null;
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return JSON.parse(JSON.stringify(value));
}
