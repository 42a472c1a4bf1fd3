import { Inject, type Provider } from '@nestjs/common';
import { BoundPool } from './bound-pool';
import { PoolService } from './pool.service';

/** Pool names asked for with @InjectPool, wherever it was used (known once the class is loaded). */
const requested = new Set<string | undefined>();

/** The injection token of one pool's BoundPool (no name: the default pool). */
export function poolToken(name?: string): string {
  return name === undefined ? 'SNAKEPIT_POOL' : `SNAKEPIT_POOL:${name}`;
}

/**
 * Injects a `BoundPool`: PoolService bound to the pool of that name (without a name: "default",
 * or the only pool there is). `constructor(@InjectPool('gpu') private readonly gpu: BoundPool)`.
 */
export function InjectPool(name?: string): PropertyDecorator & ParameterDecorator {
  requested.add(name);
  return Inject(poolToken(name));
}

/** Providers of the BoundPools for these names, and for every name @InjectPool asked for. */
export function boundPoolProviders(names: Array<string | undefined>): Provider[] {
  const all = new Set<string | undefined>([undefined, ...names, ...requested]);
  return [...all].map((name) => ({
    provide: poolToken(name),
    useFactory: (pools: PoolService) => new BoundPool(pools, name),
    inject: [PoolService],
  }));
}
