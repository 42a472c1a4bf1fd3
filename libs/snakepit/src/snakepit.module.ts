import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import type { SnakepitModuleAsyncOptions, SnakepitModuleOptions } from './options/snakepit-options.interface';
import { PoolManager } from './pool/pool-manager';
import { PoolService } from './pool/pool.service';
import { SNAKEPIT_OPTIONS } from './snakepit.constants';

/**
 * Import once, in the root module: `SnakepitModule.forRoot({ adapter: 'pkg.mod:Adapter' })`.
 * It is global, so PoolService can be injected anywhere.
 */
@Module({})
export class SnakepitModule {
  static forRoot(options: SnakepitModuleOptions): DynamicModule {
    return SnakepitModule.build([{ provide: SNAKEPIT_OPTIONS, useValue: options }]);
  }

  static forRootAsync(options: SnakepitModuleAsyncOptions): DynamicModule {
    return SnakepitModule.build(
      [{ provide: SNAKEPIT_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] }],
      options.imports,
    );
  }

  private static build(optionProviders: Provider[], imports: DynamicModule['imports'] = []): DynamicModule {
    return {
      module: SnakepitModule,
      global: true,
      imports,
      providers: [...optionProviders, PoolManager, PoolService],
      exports: [PoolService],
    };
  }
}
