import { Inject, Injectable } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { throughTheValueModel } from '../data/standalone-value';
import { ValueEncodingError } from '../data/value-encoder';
import { PoolNotFoundError, RequestAbortedError, SerializationError, RequestTimeoutError, ToolKindError, UnknownToolError, WorkerNotFoundError } from '../errors';
import { DEFAULT_POOL_NAME } from '../options/resolve-options';
import { assertValidCall } from '../pool/call-validation';
import { chunksAsObservable } from '../pool/chunk-observable';
import type { StreamChunk } from '../pool/chunk-stream';
import type { ExecuteOptions, PoolStats, SessionExecuteOptions } from '../pool/pool.types';
import type { PythonToolInfo, WorkerInfo } from '../pool/worker';
import { SessionAccess } from '../session/session-access';
import { SessionAffinity } from '../session/session-affinity';
import { SessionService } from '../session/session.service';
import { CallMetrics } from '../telemetry/call-metrics';
import { ToolRegistryService } from '../tools/tool-registry.service';
import { isStreamingTool, limitsOf, normalizeResult, withLimits } from './fake-call';
import { FakeChunkStream, type StreamOutcome } from './fake-chunk-stream';
import type { FakeTool, FakeToolContext, RecordedCall, SnakepitTestingOptions } from './testing.types';

export const SNAKEPIT_TESTING_OPTIONS = Symbol('snakepit:testing-options');

/** The counters a fake pool keeps; the others stay 0 without workers. */
type Counters = Pick<PoolStats, 'requests' | 'succeeded' | 'errors' | 'timeouts' | 'aborted' | 'cancelled'>;

/**
 * PoolService without Python, for a host app's unit tests: each tool is a function of yours
 * (see SnakepitTestingModule). It keeps PoolService's contract: arguments are checked and sent
 * as a copy that went through the value model (as the host decodes it: typed arrays as NdArray,
 * bytes as Buffers, Dates, bigints), an unknown tool or pool and the wrong kind of call fail with the same errors,
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
    private readonly affinity: SessionAffinity,
    private readonly access: SessionAccess,
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
    this.affinity.beginCall(sessionId);
    try {
      this.affinity.bind(sessionId, pool, `${pool}-testing`);
      return await this.call<T>(tool, args, options, sessionId);
    } finally {
      this.endSessionCall(sessionId);
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
      sharedMemory: { values: 0, bytes: 0, budgetBytes: 0 },
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
      poisonTools: [],
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
    try {
      const result = await withLimits(tool, run.limits, run.controller, () => run.fn(run.args, run.context));
      run.done(Date.now() - started, 'ok');
      return normalizeResult(result) as T;
    } catch (error) {
      run.done(Date.now() - started, 'error', error);
      throw error;
    }
  }

  /** A stream that opens (the session checked, the tool found and started) on its first read. */
  private stream<T>(tool: string, args: Record<string, unknown> | undefined, options: ExecuteOptions, sessionId?: string): FakeChunkStream<T> {
    let run: ReturnType<SnakepitTestingPool['prepare']> | undefined;
    let inSession = false;
    const started = Date.now();
    return new FakeChunkStream<T>(
      async () => {
        if (sessionId !== undefined) {
          await this.sessions.touch(sessionId);
          this.affinity.beginCall(sessionId);
          inSession = true;
          this.affinity.bind(sessionId, this.poolName(options.pool), `${this.poolName(options.pool)}-testing`);
        }
        const prepared = (run = this.prepare(tool, args, options, sessionId, true));
        const produced = prepared.fn(prepared.args, prepared.context) as AsyncIterable<unknown> | Iterable<unknown>;
        const source = Symbol.asyncIterator in Object(produced)
          ? (produced as AsyncIterable<unknown>)[Symbol.asyncIterator]()
          : (async function* () { yield* produced as Iterable<unknown>; })();
        return {
          source,
          read: () => withLimits(tool, prepared.limits, prepared.controller, () => source.next()),
          abort: (reason) => prepared.controller.abort(reason),
        };
      },
      (outcome) => {
        if (inSession) this.endSessionCall(sessionId!);
        // A call refused before it started (unknown tool or session) counts nowhere, as in a real pool.
        run?.done(Date.now() - started, outcome.kind, outcome.kind === 'error' ? outcome.error : undefined);
      },
    );
  }

  /** Checks the call, records it, and builds what the tool gets. */
  private prepare(tool: string, args: Record<string, unknown> | undefined, options: ExecuteOptions, sessionId: string | undefined, stream: boolean) {
    assertValidCall(tool, options);
    const pool = this.poolName(options.pool);
    const tools = this.toolsOf(pool);
    const fn = tools.get(tool);
    if (!fn) throw new UnknownToolError(tool, [...tools.keys()].sort(), pool);
    if (isStreamingTool(fn) !== stream) throw new ToolKindError(tool, !stream);
    const input = throughTheValueModelAsArgs(tool, args);
    this.calls.push({ pool, tool, args: input, sessionId, stream });
    this.countersOf(pool).requests++;
    const controller = new AbortController();
    const context = this.context(pool, tool, sessionId, controller.signal);
    return {
      pool,
      fn,
      args: input,
      controller,
      context,
      limits: limitsOf(options),
      /** Counts how the call ended, as a real pool does. */
      done: (executionMs: number, outcome: StreamOutcome['kind'], error?: unknown) => {
        if (outcome === 'ok') this.countersOf(pool).succeeded++;
        else if (outcome === 'cancelled') this.countersOf(pool).cancelled++;
        else this.failed(pool, error);
        this.metricsOf(pool).record(tool, 0, executionMs, outcome !== 'error');
      },
    };
  }

  /** As in a real pool: the end of a session's call counts as use. */
  private endSessionCall(sessionId: string): void {
    this.access.touchQuietly(sessionId);
    this.affinity.endCall(sessionId);
  }

  private failed(pool: string, error: unknown): void {
    const counts = this.countersOf(pool);
    counts.errors++;
    if (error instanceof RequestTimeoutError) counts.timeouts++;
    if (error instanceof RequestAbortedError) counts.aborted++;
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
        if (ephemeral) local.set(key, throughTheValueModel(value, `state "${key}"`));
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

/** The arguments as a worker would get them, or a SerializationError. */
function throughTheValueModelAsArgs(tool: string, args: unknown): Record<string, unknown> {
  if (args === undefined || args === null) return {};
  if (typeof args !== 'object' || Array.isArray(args)) throw new SerializationError('arguments', tool, 'arguments must be an object of keyword arguments');
  try {
    return throughTheValueModel(args, 'args') as Record<string, unknown>;
  } catch (error) {
    if (error instanceof ValueEncodingError) throw new SerializationError('arguments', tool, error.message, error.path);
    throw error;
  }
}
