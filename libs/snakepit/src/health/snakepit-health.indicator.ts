import { Injectable, Optional } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { PoolService } from '../pool/pool.service';

export interface SnakepitHealthOptions {
  /** Check one pool only. Default: every pool. */
  pool?: string;
  /** Share of a pool's workers that must be ready for it to count as up. Default 1 (all). */
  minReadyRatio?: number;
}

/** How one pool looks to a health check. */
export interface PoolHealth {
  state: 'up' | 'degraded' | 'down';
  status: string;
  ready: number;
  size: number;
}

/**
 * A Terminus health indicator for the pools. Per pool: `up` when it is ready with at least
 * `minReadyRatio` of its workers ready; `degraded` while it serves with fewer (some are
 * restarting or being recycled); `down` when none is ready, or it is starting, failed or closed.
 * The check is down if any pool is down, degraded if any is degraded, else up.
 */
@Injectable()
export class SnakepitHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    @Optional() private readonly pools?: PoolService,
  ) {}

  isHealthy<const Key extends string = 'snakepit'>(key: Key = 'snakepit' as Key, options: SnakepitHealthOptions = {}): HealthIndicatorResult<Key> {
    const indicator = this.health.check(key);
    const ratio = options.minReadyRatio ?? 1;
    if (!(ratio >= 0 && ratio <= 1)) return indicator.down({ message: `minReadyRatio must be between 0 and 1 (got ${ratio})` });
    if (!this.pools) return indicator.down({ message: 'SnakepitModule is not imported: this app has no pools of its own' });
    let pools: Record<string, PoolHealth>;
    try {
      const names = options.pool === undefined ? this.pools.listPools() : [options.pool];
      pools = Object.fromEntries(names.map((name) => [name, this.poolHealth(name, ratio)]));
    } catch (error) {
      return indicator.down({ message: (error as Error).message }); // an unknown pool, or pooling disabled
    }
    const states = Object.values(pools).map((pool) => pool.state);
    if (states.includes('down')) return indicator.down({ pools });
    if (states.includes('degraded')) return indicator.degraded({ pools });
    return indicator.up({ pools });
  }

  private poolHealth(name: string, minReadyRatio: number): PoolHealth {
    const stats = this.pools!.stats(name);
    const size = this.pools!.poolSize(name);
    const ready = stats.workers.ready;
    const serving = stats.status === 'ready' && ready > 0;
    // The epsilon keeps 0.56 × 25 (14.000000000000002 in floating point) at 14 workers.
    const state = !serving ? 'down' : ready >= Math.ceil(minReadyRatio * size - 1e-9) ? 'up' : 'degraded';
    return { state, status: stats.status, ready, size };
  }
}
