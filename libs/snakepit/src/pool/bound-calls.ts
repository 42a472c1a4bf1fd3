import type { Observable } from 'rxjs';
import type { StreamChunk } from './chunk-stream';
import type { ExecuteOptions, SessionExecuteOptions } from './pool.types';
import type { CallRest, OpenTools, StreamPick, ToolChunk, ToolMap, ToolName, ToolPick, ToolResult } from './tool-map';

export type Bound<T> = Omit<T, 'pool'>;

/** The calls PoolService and RemotePoolService both have, which a bound pool passes on. */
export interface PoolCalls {
  execute(tool: string, args?: any, options?: ExecuteOptions): Promise<any>;
  executeInSession(sessionId: string, tool: string, args?: any, options?: SessionExecuteOptions): Promise<any>;
  executeStream(tool: string, args?: any, options?: ExecuteOptions): AsyncIterableIterator<StreamChunk<any>>;
  executeStreamInSession(sessionId: string, tool: string, args?: any, options?: SessionExecuteOptions): AsyncIterableIterator<StreamChunk<any>>;
  stream$(tool: string, args?: any, options?: ExecuteOptions): Observable<StreamChunk<any>>;
}

/**
 * The calls of one pool, local or remote, with `{ pool: name }` filled in: what BoundPool and
 * BoundRemotePool share. Typed by the interface `snakepit gen types` writes.
 */
export class BoundCalls<Tools extends ToolMap<Tools> = OpenTools> {
  constructor(
    private readonly calls: PoolCalls,
    readonly name?: string,
  ) {}

  execute<K extends ToolPick<Tools> = ToolPick<Tools>>(tool: ToolName<Tools, K>, ...rest: CallRest<Tools, K, Bound<ExecuteOptions>>): Promise<ToolResult<Tools, K>>;
  execute(tool: string, args?: any, options: Bound<ExecuteOptions> = {}): Promise<any> {
    return this.calls.execute(tool, args, { ...options, pool: this.name });
  }

  executeInSession<K extends ToolPick<Tools> = ToolPick<Tools>>(
    sessionId: string,
    tool: ToolName<Tools, K>,
    ...rest: CallRest<Tools, K, Bound<SessionExecuteOptions>>
  ): Promise<ToolResult<Tools, K>>;
  executeInSession(sessionId: string, tool: string, args?: any, options: Bound<SessionExecuteOptions> = {}): Promise<any> {
    return this.calls.executeInSession(sessionId, tool, args, { ...options, pool: this.name });
  }

  executeStream<K extends StreamPick<Tools> = StreamPick<Tools>>(
    tool: ToolName<Tools, K>,
    ...rest: CallRest<Tools, K, Bound<ExecuteOptions>>
  ): AsyncIterableIterator<StreamChunk<ToolChunk<Tools, K>>>;
  executeStream(tool: string, args?: any, options: Bound<ExecuteOptions> = {}): AsyncIterableIterator<StreamChunk<any>> {
    return this.calls.executeStream(tool, args, { ...options, pool: this.name });
  }

  executeStreamInSession<K extends StreamPick<Tools> = StreamPick<Tools>>(
    sessionId: string,
    tool: ToolName<Tools, K>,
    ...rest: CallRest<Tools, K, Bound<SessionExecuteOptions>>
  ): AsyncIterableIterator<StreamChunk<ToolChunk<Tools, K>>>;
  executeStreamInSession(sessionId: string, tool: string, args?: any, options: Bound<SessionExecuteOptions> = {}): AsyncIterableIterator<StreamChunk<any>> {
    return this.calls.executeStreamInSession(sessionId, tool, args, { ...options, pool: this.name });
  }

  stream$<K extends StreamPick<Tools> = StreamPick<Tools>>(
    tool: ToolName<Tools, K>,
    ...rest: CallRest<Tools, K, Bound<ExecuteOptions>>
  ): Observable<StreamChunk<ToolChunk<Tools, K>>>;
  stream$(tool: string, args?: any, options: Bound<ExecuteOptions> = {}): Observable<StreamChunk<any>> {
    return this.calls.stream$(tool, args, { ...options, pool: this.name });
  }
}
