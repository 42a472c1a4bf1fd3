import { Module, type DynamicModule, type InjectionToken, type ModuleMetadata, type OptionalFactoryDependency } from '@nestjs/common';
import { ClientProxy, ClientProxyFactory, type ClientOptions } from '@nestjs/microservices';
import { SnakepitConfigError } from '../../errors';
import { resolveRemoteOptions, type RemotePoolOptions } from '../remote-options';
import { boundRemotePoolProviders, remotePoolToken } from './bound-remote-pool';
import { RemotePoolService, type RemoteSetup } from './remote-pool.service';
import { REMOTE_POOLS, REMOTE_SETUP } from './remote-pools.token';

/** Options of SnakepitRemoteModule: the broker client, and how calls go. */
export interface SnakepitRemoteModuleOptions extends RemotePoolOptions {
  /** The transport, as for ClientsModule (`{ transport: Transport.NATS, options: { servers } }`),
   *  or a ClientProxy of the app's own (which the app then closes). */
  client: ClientOptions | ClientProxy;
  /** Names for `@InjectRemotePool(name)` beyond those the decorator has seen. */
  pools?: string[];
}

export interface SnakepitRemoteModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  useFactory: (...args: never[]) => SnakepitRemoteModuleOptions | Promise<SnakepitRemoteModuleOptions>;
  inject?: Array<InjectionToken | OptionalFactoryDependency>;
  pools?: string[];
}

const WHERE = 'SnakepitRemoteModule.forRoot()/forRootAsync()';

function setupOf(given: SnakepitRemoteModuleOptions): RemoteSetup {
  if (typeof given !== 'object' || given === null) throw new SnakepitConfigError(['the options must be an object'], WHERE);
  const { client, pools: _pools, ...rest } = given;
  const problems: string[] = [];
  if (!(client instanceof ClientProxy) && !(typeof client === 'object' && client !== null && 'transport' in client)) {
    problems.push('client must be a ClientProxy or client options with a transport ({ transport: Transport.NATS, options: { servers } })');
  }
  let options;
  try {
    options = resolveRemoteOptions(rest);
  } catch (error) {
    if (!(error instanceof SnakepitConfigError)) throw error;
    problems.push(...error.problems);
  }
  if (problems.length) throw new SnakepitConfigError(problems, WHERE);
  const owns = !(client instanceof ClientProxy);
  return { client: owns ? ClientProxyFactory.create(client as ClientOptions) : (client as ClientProxy), ownsClient: owns, options: options! };
}

/**
 * Calls pools that other apps serve on a broker: provides RemotePoolService (and a
 * BoundRemotePool for each `@InjectRemotePool(name)`) everywhere in the app.
 */
@Module({})
export class SnakepitRemoteModule {
  static forRoot(options: SnakepitRemoteModuleOptions): DynamicModule {
    const setup = setupOf(options);
    return this.module({ provide: REMOTE_SETUP, useValue: setup }, options.pools ?? []);
  }

  static forRootAsync(options: SnakepitRemoteModuleAsyncOptions): DynamicModule {
    const dynamic = this.module(
      { provide: REMOTE_SETUP, useFactory: async (...args: never[]) => setupOf(await options.useFactory(...args)), inject: options.inject ?? [] },
      options.pools ?? [],
    );
    return { ...dynamic, imports: options.imports ?? [] };
  }

  private static module(setup: DynamicModule['providers'] extends Array<infer P> | undefined ? P : never, pools: string[]): DynamicModule {
    const bound = boundRemotePoolProviders(pools);
    return {
      module: SnakepitRemoteModule,
      global: true,
      providers: [setup, RemotePoolService, { provide: REMOTE_POOLS, useExisting: RemotePoolService }, ...bound],
      exports: [RemotePoolService, REMOTE_POOLS, ...bound.map((provider) => (provider as { provide: string }).provide)],
    };
  }
}

export { remotePoolToken };
