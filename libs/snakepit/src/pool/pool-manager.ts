import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { PoolNotFoundError, PoolingDisabledError } from '../errors';
import { DEFAULT_POOL_NAME, resolveOptions, type ResolvedOptions } from '../options/resolve-options';
import type { SnakepitModuleOptions } from '../options/snakepit-options.interface';
import { SNAKEPIT_OPTIONS } from '../snakepit.constants';
import { Pool } from './pool';

/**
 * Owns every pool of one Nest application and ties them to its lifecycle: validated and
 * started at init (or on first use, whichever comes first), drained and stopped at shutdown.
 */
@Injectable()
export class PoolManager implements OnModuleInit, OnApplicationShutdown {
  /** Marks this application's workers (it is on their command line). */
  readonly runId = randomUUID();
  private readonly logger = new Logger('Snakepit');
  private readonly pools = new Map<string, Pool>();
  private options?: ResolvedOptions;

  constructor(@Inject(SNAKEPIT_OPTIONS) private readonly rawOptions: SnakepitModuleOptions) {}

  async onModuleInit(): Promise<void> {
    const options = this.ensureStarted();
    if (options.waitForReady) await this.ready();
  }

  async onApplicationShutdown(): Promise<void> {
    const options = this.options;
    if (!options) return;
    await Promise.all([...this.pools.values()].map((pool) => pool.close(options.shutdownGraceMs, options.killTimeoutMs)));
  }

  /** Validates the options and starts the pools, once. Throws SnakepitConfigError on bad options. */
  ensureStarted(): ResolvedOptions {
    if (this.options) return this.options;
    const options = resolveOptions(this.rawOptions);
    this.options = options;
    if (!options.poolingEnabled) {
      this.logger.log('pooling is disabled: no Python worker starts');
      return options;
    }
    for (const config of options.pools) {
      const pool = new Pool(config, this.runId);
      this.pools.set(config.name, pool);
      pool.start().catch(() => undefined); // the failure is logged and kept by pool.ready()
    }
    return options;
  }

  /** The pool of that name; without a name, "default" or the only pool there is. */
  getPool(name?: string): Pool {
    const options = this.ensureStarted();
    if (!options.poolingEnabled) throw new PoolingDisabledError();
    const pool = this.pools.get(name ?? this.defaultPoolName());
    if (!pool) throw new PoolNotFoundError(name ?? DEFAULT_POOL_NAME, this.poolNames());
    return pool;
  }

  poolNames(): string[] {
    return [...this.pools.keys()];
  }

  /** Resolves when the named pool (or every pool) is ready; rejects with the start failure. */
  async ready(name?: string): Promise<void> {
    const options = this.ensureStarted();
    if (!options.poolingEnabled) return;
    const pools = name === undefined ? [...this.pools.values()] : [this.getPool(name)];
    await Promise.all(pools.map((pool) => pool.ready()));
  }

  private defaultPoolName(): string {
    return this.pools.size === 1 ? this.pools.keys().next().value! : DEFAULT_POOL_NAME;
  }
}
