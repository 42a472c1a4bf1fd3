import { SnakepitRun } from './snakepit-run';
import { Global, Module, type DynamicModule } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { HostBridgeServer } from './bridge/host-bridge.server';
import { warnOnSecondNestCore } from './nest-core-copies';
import { DEFAULT_POOL_NAME, resolveOptions, type ResolvedOptions } from './options/resolve-options';
import { PythonPackages } from './python/python-packages';
import { boundPoolProviders, SnakepitPoolsModule } from './pool/inject-pool';
import { PoolManager } from './pool/pool-manager';
import { PoolService } from './pool/pool.service';
import { SessionAccess } from './session/session-access';
import { SessionAffinity } from './session/session-affinity';
import { SessionService } from './session/session.service';
import { EventBus } from './telemetry/event-bus';
import { SNAKEPIT_CONFIG, SNAKEPIT_OPTIONS, HOST_BRIDGE } from './snakepit.constants';
import { ConfigurableSnakepitModule, type SnakepitModuleAsyncOptions } from './snakepit.module-definition';
import type { SnakepitModuleOptions } from './options/snakepit-options.interface';
import { EventEmitterBridge } from './telemetry/event-emitter-bridge';
import { SnakepitEvents } from './telemetry/snakepit-events';
import { SnakepitToolExplorer } from './tools/snakepit-tool.explorer';
import { ToolRegistryService } from './tools/tool-registry.service';

/**
 * Import once, in the root module: `SnakepitModule.forRoot({ adapter: 'pkg.mod:Adapter' })`, or
 * `SnakepitModule.forRootAsync({ imports, inject, useFactory })` (useClass and useExisting work
 * too, with a class that has `createSnakepitOptions()`). It is global: PoolService,
 * SessionService, ToolRegistryService and SnakepitEvents can be injected anywhere.
 */
@Global()
@Module({
  imports: [DiscoveryModule],
  providers: [
    // Validates the options (one SnakepitConfigError naming every bad field) and fills in defaults.
    { provide: SNAKEPIT_CONFIG, useFactory: resolveOptions, inject: [SNAKEPIT_OPTIONS] },
    SnakepitRun,
    EventBus,
    SnakepitEvents,
    EventEmitterBridge,
    SessionAffinity,
    SessionAccess,
    SessionService,
    ToolRegistryService,
    SnakepitToolExplorer,
    HostBridgeServer,
    { provide: HOST_BRIDGE, useExisting: HostBridgeServer },
    PoolManager,
    PoolService,
    // The packages of the default pool's interpreter.
    { provide: PythonPackages, useFactory: (config: ResolvedOptions) => new PythonPackages(defaultPool(config).pythonExecutable), inject: [SNAKEPIT_CONFIG] },
  ],
  exports: [PoolService, SessionService, ToolRegistryService, SnakepitEvents, PythonPackages, EventBus],
})
export class SnakepitModule extends ConfigurableSnakepitModule {
  static override forRoot(options: SnakepitModuleOptions): DynamicModule {
    warnOnSecondNestCore();
    const names = (Array.isArray(options?.pools) ? options.pools : []).map((pool) => pool?.name);
    return withBoundPools(super.forRoot(options), names);
  }

  static override forRootAsync(options: SnakepitModuleAsyncOptions): DynamicModule {
    warnOnSecondNestCore();
    return withBoundPools(super.forRootAsync(options), []);
  }

  /**
   * `@InjectPool(name)` for these pools in the importing module. Needed only with forRootAsync,
   * when the class using @InjectPool is loaded after SnakepitModule.forRootAsync() was called.
   */
  static forFeature(pools: string[]): DynamicModule {
    return SnakepitPoolsModule.forPools(pools);
  }
}

/** The pool named "default", else the first. */
function defaultPool(config: ResolvedOptions) {
  return config.pools.find((pool) => pool.name === DEFAULT_POOL_NAME) ?? config.pools[0];
}

/** Adds a BoundPool provider (for @InjectPool) per pool name known now. */
function withBoundPools(module: DynamicModule, names: Array<string | undefined>): DynamicModule {
  const providers = boundPoolProviders(names.filter((name): name is string => typeof name === 'string'));
  return {
    ...module,
    providers: [...(module.providers ?? []), ...providers],
    exports: [...(module.exports ?? []), ...providers.map((provider) => (provider as { provide: string }).provide)],
  };
}
