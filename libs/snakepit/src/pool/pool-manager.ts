import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { PoolNotFoundError, PoolingDisabledError } from '../errors';
import { DEFAULT_POOL_NAME, type ResolvedOptions } from '../options/resolve-options';
import { HOST_BRIDGE, SNAKEPIT_CONFIG, type HostBridge } from '../snakepit.constants';
import { Pool } from './pool';

/**
 * Owns every pool of one Nest application and ties them to its lifecycle: started at init
 * (or on first use, whichever comes first) once the host bridge listens, drained and stopped
 * at shutdown, before the bridge stops.
 */
@Injectable()
export class PoolManager implements OnModuleInit, OnApplicationShutdown {
  /** Marks this application's workers (it is on their command line). */
  readonly runId = randomUUID();
  private readonly logger = new Logger('Snakepit');
  private readonly pools = new Map<string, Pool>();
  private started = false;

  constructor(
    @Inject(SNAKEPIT_CONFIG) private readonly options: ResolvedOptions,
    @Inject(HOST_BRIDGE) private readonly bridge: HostBridge,
  ) {
    if (options.poolingEnabled) {
      for (const config of options.pools) this.pools.set(config.name, new Pool(config, this.runId));
    }
  }

  async onModuleInit(): Promise<void> {
    this.ensureStarted();
    if (this.options.waitForReady) await this.ready();
  }

  async onApplicationShutdown(): Promise<void> {
    const { shutdownGraceMs, killTimeoutMs } = this.options;
    await Promise.all([...this.pools.values()].map((pool) => pool.close(shutdownGraceMs, killTimeoutMs)));
    await this.bridge.stop();
  }

  /** Starts the host bridge, then the pools, once. */
  ensureStarted(): void {
    if (this.started) return;
    this.started = true;
    if (!this.options.poolingEnabled) {
      this.logger.log('pooling is disabled: no Python worker starts');
      return;
    }
    const hostEnv = this.bridge.workerEnv();
    for (const pool of this.pools.values()) {
      pool.start(hostEnv).catch(() => undefined); // the failure is logged and kept by pool.ready()
    }
  }

  /** The pool of that name; without a name, "default" or the only pool there is. */
  getPool(name?: string): Pool {
    this.ensureStarted();
    if (!this.options.poolingEnabled) throw new PoolingDisabledError();
    const pool = this.pools.get(name ?? this.defaultPoolName());
    if (!pool) throw new PoolNotFoundError(name ?? DEFAULT_POOL_NAME, this.poolNames());
    return pool;
  }

  poolNames(): string[] {
    return [...this.pools.keys()];
  }

  /** Resolves when the named pool (or every pool) is ready; rejects with the start failure. */
  async ready(name?: string): Promise<void> {
    this.ensureStarted();
    if (!this.options.poolingEnabled) return;
    const pools = name === undefined ? [...this.pools.values()] : [this.getPool(name)];
    await Promise.all(pools.map((pool) => pool.ready()));
  }

  private defaultPoolName(): string {
    return this.pools.size === 1 ? this.pools.keys().next().value! : DEFAULT_POOL_NAME;
  }
}
