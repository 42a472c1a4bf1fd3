import type { Observable } from 'rxjs';
import type { StreamChunk } from './chunk-stream';
import type { SharedValue, ShareOptions } from './shared-values';
import type { ExecuteOptions, PoolLoad, PoolStats, SessionExecuteOptions } from './pool.types';
import type { PoolService } from './pool.service';
import type { WorkerInfo } from './worker';
import type { CallRest, OpenTools, StreamPick, ToolChunk, ToolMap, ToolName, ToolPick, ToolResult } from './tool-map';

type Bound<T> = Omit<T, 'pool'>;

/**
 * PoolService bound to one pool: what `@InjectPool('name')` injects. Every method is
 * PoolService's, with `{ pool: name }` filled in. With the interface `snakepit gen types` writes
 * (`@InjectPool('ml') pool: BoundPool<MlTools>`), calls are typed by the pool's tools.
 */
export class BoundPool<Tools extends ToolMap<Tools> = OpenTools> {
  constructor(private readonly pools: PoolService, readonly name?: string) {}

  execute<K extends ToolPick<Tools> = ToolPick<Tools>>(tool: ToolName<Tools, K>, ...rest: CallRest<Tools, K, Bound<ExecuteOptions>>): Promise<ToolResult<Tools, K>>;
  execute(tool: string, args?: any, options: Bound<ExecuteOptions> = {}): Promise<any> {
    return this.pools.execute(tool, args, { ...options, pool: this.name });
  }

  executeInSession<K extends ToolPick<Tools> = ToolPick<Tools>>(
    sessionId: string,
    tool: ToolName<Tools, K>,
    ...rest: CallRest<Tools, K, Bound<SessionExecuteOptions>>
  ): Promise<ToolResult<Tools, K>>;
  executeInSession(sessionId: string, tool: string, args?: any, options: Bound<SessionExecuteOptions> = {}): Promise<any> {
    return this.pools.executeInSession(sessionId, tool, args, { ...options, pool: this.name });
  }

  executeStream<K extends StreamPick<Tools> = StreamPick<Tools>>(
    tool: ToolName<Tools, K>,
    ...rest: CallRest<Tools, K, Bound<ExecuteOptions>>
  ): AsyncIterableIterator<StreamChunk<ToolChunk<Tools, K>>>;
  executeStream(tool: string, args?: any, options: Bound<ExecuteOptions> = {}): AsyncIterableIterator<StreamChunk<any>> {
    return this.pools.executeStream(tool, args, { ...options, pool: this.name });
  }

  executeStreamInSession<K extends StreamPick<Tools> = StreamPick<Tools>>(
    sessionId: string,
    tool: ToolName<Tools, K>,
    ...rest: CallRest<Tools, K, Bound<SessionExecuteOptions>>
  ): AsyncIterableIterator<StreamChunk<ToolChunk<Tools, K>>>;
  executeStreamInSession(sessionId: string, tool: string, args?: any, options: Bound<SessionExecuteOptions> = {}): AsyncIterableIterator<StreamChunk<any>> {
    return this.pools.executeStreamInSession(sessionId, tool, args, { ...options, pool: this.name });
  }

  stream$<K extends StreamPick<Tools> = StreamPick<Tools>>(
    tool: ToolName<Tools, K>,
    ...rest: CallRest<Tools, K, Bound<ExecuteOptions>>
  ): Observable<StreamChunk<ToolChunk<Tools, K>>>;
  stream$(tool: string, args?: any, options: Bound<ExecuteOptions> = {}): Observable<StreamChunk<any>> {
    return this.pools.stream$(tool, args, { ...options, pool: this.name });
  }

  share(value: unknown, options: ShareOptions = {}): Promise<SharedValue> {
    return this.pools.share(value, { ...options, pool: this.name });
  }

  ready(): Promise<void> {
    return this.pools.ready(this.name);
  }

  stats(): PoolStats {
    return this.pools.stats(this.name);
  }

  load(): PoolLoad {
    return this.pools.load(this.name);
  }
  listWorkers(): WorkerInfo[] {
    return this.pools.listWorkers(this.name);
  }

  restart(): Promise<void> {
    return this.pools.restart(this.name);
  }
}
