import { Inject, Module, type DynamicModule, type Provider } from '@nestjs/common';
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

/** Providers of the BoundPools for these names (and, unless `only`, every name @InjectPool asked for). */
export function boundPoolProviders(names: Array<string | undefined>, only = false): Provider[] {
  const all = new Set<string | undefined>(only ? names : [undefined, ...names, ...requested]);
  return [...all].map((name) => ({
    provide: poolToken(name),
    useFactory: (pools: PoolService) => new BoundPool(pools, name),
    inject: [PoolService],
  }));
}

/** Holds the BoundPools of SnakepitModule.forFeature(). */
@Module({})
export class SnakepitPoolsModule {
  /** BoundPools for these pool names, for `@InjectPool(name)` in this module. */
  static forPools(names: string[]): DynamicModule {
    const providers = boundPoolProviders(names, true);
    return { module: SnakepitPoolsModule, providers, exports: providers.map((p) => (p as { provide: string }).provide) };
  }
}
