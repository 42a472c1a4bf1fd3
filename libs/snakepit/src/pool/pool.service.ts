import type { SharedValue, ShareOptions } from './shared-values';
import { Injectable } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { PoolManager } from './pool-manager';
import { SessionAccess } from '../session/session-access';
import { SessionAffinity } from '../session/session-affinity';
import { ChunkStream, DeferredChunkStream, type StreamChunk } from './chunk-stream';
import { chunksAsObservable } from './chunk-observable';
import type { SessionCall } from './call';
import type { Pool } from './pool';
import type { ExecuteOptions, PoolLoad, PoolStats, SessionExecuteOptions } from './pool.types';
import type { WorkerInfo } from './worker.types';
import type { CallRest, OpenTools, StreamPick, ToolChunk, ToolMap, ToolName, ToolPick, ToolResult } from './tool-map';

function once(action: () => void): () => void {
  let done = false;
  return () => {
    if (!done) {
      done = true;
      action();
    }
  };
}

/**
 * Runs Python tools in the pool. Inject it anywhere; every method is safe to call during boot.
 * With the interface `snakepit gen types` writes (`PoolService<MlTools>`), tool names, arguments,
 * results and chunks are checked by the compiler; without one, any tool and any arguments.
 */
@Injectable()
export class PoolService<Tools extends ToolMap<Tools> = OpenTools> {
  constructor(
    private readonly manager: PoolManager,
    private readonly sessions: SessionAccess,
    private readonly affinity: SessionAffinity,
  ) {}

  /** This application's run id: every worker it starts carries it on its command line. */
  get runId(): string {
    return this.manager.runId;
  }

  /**
   * Runs `tool` with keyword arguments `args` and resolves with its result: a JSON value, or a
   * Buffer when Python returned bytes. Rejects with a SnakepitError subclass (a PythonError for
   * exceptions raised in Python).
   */
  execute<K extends ToolPick<Tools> = ToolPick<Tools>>(tool: ToolName<Tools, K>, ...rest: CallRest<Tools, K, ExecuteOptions>): Promise<ToolResult<Tools, K>>;
  execute(tool: string, args?: any, options: ExecuteOptions = {}): Promise<any> {
    try {
      return this.manager.getPool(options.pool).execute(tool, args, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Like execute(), within a session: the call goes to the worker that served the session last
   * (by the pool's or the call's `affinity`), marks the session used, and Python sees the
   * session id in `self.session_context.session_id`. Rejects with SessionNotFoundError for an
   * unknown or expired session, WorkerBusyError (strictFailFast) and
   * SessionWorkerUnavailableError (strict modes, when the session's worker is gone).
   */
  executeInSession<K extends ToolPick<Tools> = ToolPick<Tools>>(
    sessionId: string,
    tool: ToolName<Tools, K>,
    ...rest: CallRest<Tools, K, SessionExecuteOptions>
  ): Promise<ToolResult<Tools, K>>;
  async executeInSession(sessionId: string, tool: string, args?: any, options: SessionExecuteOptions = {}): Promise<any> {
    const pool = this.manager.getPool(options.pool);
    const session = await this.sessionCall(pool, sessionId, options);
    try {
      return await pool.execute(tool, args, options, session);
    } finally {
      session.onDone!(); // also when the call was refused before it queued
    }
  }

  /** Marks the session used and in a call, and tells the pool where the call should run. */
  private async sessionCall(pool: Pool, sessionId: string, options: SessionExecuteOptions): Promise<SessionCall> {
    await this.sessions.touch(sessionId);
    const { affinity, sessions } = this;
    const mode = options.affinity ?? pool.config.affinity;
    affinity.beginCall(sessionId);
    return {
      sessionId,
      // Read when the pool queues the call: a call of the same session dispatched before it has bound it.
      get placement() {
        const workerId = affinity.workerFor(sessionId, pool.name);
        return workerId ? { workerId, mode } : undefined;
      },
      onDispatch: (workerId) => affinity.bind(sessionId, pool.name, workerId),
      // The end of a call counts as use (touched while it still counts as in flight, so a call
      // that outlived the TTL does not find its session expired).
      onDone: once(() => {
        sessions.touchQuietly(sessionId);
        affinity.endCall(sessionId);
      }),
    };
  }

  /**
   * Runs a streaming tool (`@tool(supports_streaming=True)` in Python) and gives its chunks as
   * they come, `{ data, index, final }`, for `for await`. A slow reader slows Python down;
   * breaking out of the loop, the signal or the timeout stop the generator in Python (its
   * `finally` runs). `timeoutMs` bounds the whole stream. Errors arrive after the chunks before them.
   */
  executeStream<K extends StreamPick<Tools> = StreamPick<Tools>>(
    tool: ToolName<Tools, K>,
    ...rest: CallRest<Tools, K, ExecuteOptions>
  ): AsyncIterableIterator<StreamChunk<ToolChunk<Tools, K>>>;
  executeStream(tool: string, args?: any, options: ExecuteOptions = {}): AsyncIterableIterator<StreamChunk<any>> {
    try {
      return this.manager.getPool(options.pool).executeStream(tool, args, options) as ChunkStream;
    } catch (error) {
      return ChunkStream.failed(error as Error);
    }
  }

  /** executeStream() within a session, with the same affinity rules as executeInSession(). */
  executeStreamInSession<K extends StreamPick<Tools> = StreamPick<Tools>>(
    sessionId: string,
    tool: ToolName<Tools, K>,
    ...rest: CallRest<Tools, K, SessionExecuteOptions>
  ): AsyncIterableIterator<StreamChunk<ToolChunk<Tools, K>>>;
  executeStreamInSession(sessionId: string, tool: string, args?: any, options: SessionExecuteOptions = {}): AsyncIterableIterator<StreamChunk<any>> {
    const started = (async () => {
      const pool = this.manager.getPool(options.pool);
      const session = await this.sessionCall(pool, sessionId, options);
      const stream = pool.executeStream(tool, args, options, session) as ChunkStream;
      void stream.finished.then(session.onDone); // also when the call was refused before it queued
      return stream;
    })();
    return new DeferredChunkStream(started);
  }

  /** executeStream() as an rxjs Observable (for controllers, @Sse); unsubscribing cancels it. */
  stream$<K extends StreamPick<Tools> = StreamPick<Tools>>(tool: ToolName<Tools, K>, ...rest: CallRest<Tools, K, ExecuteOptions>): Observable<StreamChunk<ToolChunk<Tools, K>>>;
  stream$(tool: string, args?: any, options: ExecuteOptions = {}): Observable<StreamChunk<any>> {
    return chunksAsObservable(() => (this as PoolService).executeStream(tool, args, options));
  }

  /** Resolves when the pool (or, without a name, every pool) has its workers ready. */
  ready(pool?: string): Promise<void> {
    return this.manager.ready(pool);
  }

  /**
   * Writes `value` (an array, a structure of arrays, any value a call may take) to shared memory
   * once, for many calls and sessions: pass the returned SharedValue inside arguments instead of
   * the data, and only its name crosses to the worker, which sees the value itself. Close it
   * (`await shared.close()`, or `await using`) when done; it counts against the pool's
   * sharedMemory.budgetBytes (SharedMemoryBudgetError past it) until then, and closes by itself
   * after sharedMemory.shareTtlMs when that is set.
   */
  async share(value: unknown, options: ShareOptions & { pool?: string } = {}): Promise<SharedValue> {
    return this.manager.getPool(options.pool).share(value, options);
  }

  /** Counters and gauges of one pool (default: "default", or the only pool). */
  stats(pool?: string): PoolStats {
    return this.manager.getPool(pool).stats();
  }

  /** How busy one pool is now (default: "default", or the only pool): its capacity with the
   *  workers ready and its open calls. Cheap: remote hosts report it with every answer. */
  load(pool?: string): PoolLoad {
    return this.manager.getPool(pool).load();
  }

  /** The workers of one pool (default: "default", or the only pool). */
  listWorkers(pool?: string): WorkerInfo[] {
    return this.manager.getPool(pool).listWorkers();
  }

  /**
   * Replaces one worker by a fresh process: a successor starts at once and takes over the calls
   * waiting for it (and its sessions); the worker finishes its current call, then stops. Resolves
   * when the successor is ready. Rejects with WorkerNotFoundError for an unknown id.
   */
  async recycle(workerId: string): Promise<void> {
    await this.manager.poolOfWorker(workerId).recycle(workerId);
  }

  /**
   * A failed pool (its workers kept dying, or it could not start) starts again now instead of
   * after restart.cooldownMs; a running pool recycles every worker. Resolves when it is ready.
   */
  restart(pool?: string): Promise<void> {
    try {
      return this.manager.getPool(pool).restart();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Stops every pool now, before the application closes: `graceMs` (default shutdown.graceMs)
   * for running and queued calls, then SIGTERM, and SIGKILL after `killTimeoutMs` (default
   * shutdown.killTimeoutMs). `app.close()` later waits for this same close.
   */
  close(options: { graceMs?: number; killTimeoutMs?: number } = {}): Promise<void> {
    return this.manager.closePools(options.graceMs, options.killTimeoutMs);
  }

  /** How many workers the pool runs when it is whole. */
  poolSize(pool?: string): number {
    return this.manager.getPool(pool).config.poolSize;
  }

  /** Names of the configured pools. */
  listPools(): string[] {
    return this.manager.poolNames();
  }
}
