import type { Observable } from 'rxjs';
import type { StreamChunk } from './chunk-stream';
import type { SharedValue, ShareOptions } from './shared-values';
import type { ExecuteOptions, PoolLoad, PoolStats, SessionExecuteOptions } from './pool.types';
import type { PoolService } from './pool.service';
import type { WorkerInfo } from './worker';

type Bound<T> = Omit<T, 'pool'>;

/**
 * PoolService bound to one pool: what `@InjectPool('name')` injects. Every method is
 * PoolService's, with `{ pool: name }` filled in.
 */
export class BoundPool {
  constructor(private readonly pools: PoolService, readonly name?: string) {}

  execute<T = unknown>(tool: string, args?: Record<string, unknown>, options: Bound<ExecuteOptions> = {}): Promise<T> {
    return this.pools.execute<T>(tool, args, { ...options, pool: this.name });
  }

  executeInSession<T = unknown>(sessionId: string, tool: string, args?: Record<string, unknown>, options: Bound<SessionExecuteOptions> = {}): Promise<T> {
    return this.pools.executeInSession<T>(sessionId, tool, args, { ...options, pool: this.name });
  }

  executeStream<T = unknown>(tool: string, args?: Record<string, unknown>, options: Bound<ExecuteOptions> = {}): AsyncIterableIterator<StreamChunk<T>> {
    return this.pools.executeStream<T>(tool, args, { ...options, pool: this.name });
  }

  executeStreamInSession<T = unknown>(
    sessionId: string,
    tool: string,
    args?: Record<string, unknown>,
    options: Bound<SessionExecuteOptions> = {},
  ): AsyncIterableIterator<StreamChunk<T>> {
    return this.pools.executeStreamInSession<T>(sessionId, tool, args, { ...options, pool: this.name });
  }

  stream$<T = unknown>(tool: string, args?: Record<string, unknown>, options: Bound<ExecuteOptions> = {}): Observable<StreamChunk<T>> {
    return this.pools.stream$<T>(tool, args, { ...options, pool: this.name });
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
