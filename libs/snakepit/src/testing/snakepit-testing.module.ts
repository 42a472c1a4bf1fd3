import { Global, Module, type DynamicModule } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { resolveOptions } from '../options/resolve-options';
import { boundPoolProviders } from '../pool/inject-pool';
import { PoolService } from '../pool/pool.service';
import { SessionAccess } from '../session/session-access';
import { SessionAffinity } from '../session/session-affinity';
import { SessionService } from '../session/session.service';
import { EventBus } from '../telemetry/event-bus';
import { SNAKEPIT_CONFIG } from '../snakepit.constants';
import { SnakepitEvents } from '../telemetry/snakepit-events';
import { SnakepitToolExplorer } from '../tools/snakepit-tool.explorer';
import { ToolRegistryService } from '../tools/tool-registry.service';
import { SNAKEPIT_TESTING_OPTIONS, SnakepitTestingPool } from './snakepit-testing-pool';
import { TestingToolRegistry } from './testing-tool-registry';
import type { SnakepitTestingOptions } from './testing.types';

/**
 * SnakepitModule without Python, for unit tests of the services and controllers that use it:
 * import `SnakepitTestingModule.forRoot({ tools: { predict: ({ x }) => ({ y: 2 * x }) } })`
 * instead of SnakepitModule. PoolService (and `@InjectPool` facades) run your functions;
 * SessionService, ToolRegistryService, `@SnakepitTool` host tools and SnakepitEvents are the
 * real ones. Inject `SnakepitTestingPool` to look at `calls` or swap a tool with `setTool`.
 */
@Global()
@Module({})
export class SnakepitTestingModule {
  static forRoot(options: SnakepitTestingOptions = {}): DynamicModule {
    const pools = Object.keys(options.pools ?? {});
    const facades = boundPoolProviders(pools);
    return {
      module: SnakepitTestingModule,
      imports: [DiscoveryModule],
      providers: [
        { provide: SNAKEPIT_TESTING_OPTIONS, useValue: options },
        // Sessions need the resolved options; no worker ever starts.
        { provide: SNAKEPIT_CONFIG, useFactory: () => resolveOptions({ adapter: 'testing:Fake', poolingEnabled: false, sessions: options.sessions }) },
        EventBus,
        SnakepitEvents,
        SessionAffinity,
        SessionAccess,
        SessionService,
        { provide: ToolRegistryService, useClass: TestingToolRegistry },
        SnakepitToolExplorer,
        SnakepitTestingPool,
        { provide: PoolService, useExisting: SnakepitTestingPool },
        ...facades,
      ],
      exports: [PoolService, SnakepitTestingPool, SessionService, ToolRegistryService, SnakepitEvents, ...facades.map((p) => (p as { provide: string }).provide)],
    };
  }
}
