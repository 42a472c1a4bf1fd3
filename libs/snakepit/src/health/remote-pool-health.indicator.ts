import { Inject, Injectable, Optional } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import type { RemotePoolService } from '../remote/caller/remote-pool.service';
import { REMOTE_POOLS } from '../remote/caller/remote-pools.token';

export interface RemotePoolHealthOptions {
  /** The pool to look at. Default: each host's default pool. */
  pool?: string;
  /** Hosts that must serve it for the check to be up. Default 1. */
  minHosts?: number;
}

/**
 * A Terminus health indicator for remote pools, on a caller (SnakepitRemoteModule): `up` when
 * at least `minHosts` hosts serve the pool ready, `degraded` with fewer but some, `down` with
 * none, or while the broker is out of reach. The details list the hosts seen and their
 * capacity and load.
 */
@Injectable()
export class RemotePoolHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    @Optional() @Inject(REMOTE_POOLS) private readonly remote?: RemotePoolService,
  ) {}

  isHealthy<const Key extends string = 'snakepit_remote'>(key: Key = 'snakepit_remote' as Key, options: RemotePoolHealthOptions = {}): HealthIndicatorResult<Key> {
    const indicator = this.health.check(key);
    if (!this.remote) return indicator.down({ message: 'SnakepitRemoteModule is not imported: there are no remote pools to check' });
    const minHosts = options.minHosts ?? 1;
    const stats = this.remote.stats();
    const hosts = stats.hosts.map((host) => {
      const load = host.pools[options.pool ?? host.defaultPool];
      return { hostId: host.hostId, lastSeenAt: host.lastSeenAt, status: load?.status ?? 'absent', capacity: load?.capacity ?? 0, inFlight: load?.inFlight ?? 0 };
    });
    const serving = hosts.filter((host) => host.status === 'ready' && host.capacity > 0).length;
    const details = { hosts, serving, queued: stats.queued, brokerReachable: stats.brokerReachable };
    if (!stats.brokerReachable || serving === 0) return indicator.down(details);
    if (serving < minHosts) return indicator.degraded(details);
    return indicator.up(details);
  }
}
