import { Global, Module } from '@nestjs/common';
import { PoolManager } from './pool/pool-manager';
import { PoolService } from './pool/pool.service';
import { ConfigurableSnakepitModule } from './snakepit.module-definition';

/**
 * Import once, in the root module: `SnakepitModule.forRoot({ adapter: 'pkg.mod:Adapter' })`, or
 * `SnakepitModule.forRootAsync({ imports, inject, useFactory })` (useClass and useExisting work
 * too, with a class that has `createSnakepitOptions()`). It is global, so PoolService can be
 * injected anywhere.
 */
@Global()
@Module({
  providers: [PoolManager, PoolService],
  exports: [PoolService],
})
export class SnakepitModule extends ConfigurableSnakepitModule {}
