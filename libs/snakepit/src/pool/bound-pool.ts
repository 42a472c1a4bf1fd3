import type { SharedValue, ShareOptions } from './shared-values';
import type { PoolLoad, PoolStats } from './pool.types';
import type { PoolService } from './pool.service';
import type { WorkerInfo } from './worker';
import type { OpenTools, ToolMap } from './tool-map';
import { BoundCalls } from './bound-calls';

/**
 * PoolService bound to one pool: what `@InjectPool('name')` injects. Every method is
 * PoolService's, with `{ pool: name }` filled in. With the interface `snakepit gen types` writes
 * (`@InjectPool('ml') pool: BoundPool<MlTools>`), calls are typed by the pool's tools.
 */
export class BoundPool<Tools extends ToolMap<Tools> = OpenTools> extends BoundCalls<Tools> {
  constructor(
    private readonly pools: PoolService,
    name?: string,
  ) {
    super(pools, name);
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
