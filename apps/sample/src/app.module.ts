import { Module, type DynamicModule, type MiddlewareConsumer, type NestModule, type Provider, type Type } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { Transport } from '@nestjs/microservices';
import { RedisSessionStore, SnakepitModule, type SnakepitModuleOptions } from '@snakepit/nestjs';
import { SnakepitHealthModule } from '@snakepit/nestjs/health';
import { SnakepitExceptionFilter, SNAKEPIT_EXCEPTION_FILTER_OPTIONS } from '@snakepit/nestjs/http';
import { SnakepitMetricsModule } from '@snakepit/nestjs/metrics';
import { RemotePoolService, SnakepitHostModule, SnakepitRemoteModule } from '@snakepit/nestjs/remote';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { ApiDocs } from './api-docs';
import { HealthController } from './health.controller';
import { ExecuteController } from './execute.controller';
import { MathTools } from './math.tools';
import { RedisConnection } from './redis-connection';
import { RemoteHealthController } from './remote-health.controller';
import { RemotePoolController } from './remote-pool.controller';
import { LocalPools, SamplePools } from './sample-pools';
import { SessionsController } from './sessions.controller';
import { SimilarityController } from './similarity.controller';
import { StreamController } from './stream.controller';
import { ToolsController } from './tools.controller';
import { PoolController } from './pool.controller';
import { MetricsController } from './metrics.controller';
import { JsonBodyOnlyMiddleware } from './json-body-only.middleware';

/** How the sample runs: its own workers (served on the broker too with `natsUrl`), or none,
 *  calling the pools that hosts serve (`remote`). */
export interface SampleTopology {
  natsUrl?: string;
  remote?: boolean;
  redisUrl?: string;
  hostId?: string;
}

const errorFilter: Provider[] = [
  // A demo: it shows Python's tracebacks to HTTP clients, which an app in production should not.
  { provide: SNAKEPIT_EXCEPTION_FILTER_OPTIONS, useValue: { exposeDetails: true } },
  { provide: APP_FILTER, useClass: SnakepitExceptionFilter },
];

@Module({})
export class AppModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(JsonBodyOnlyMiddleware).forRoutes('*');
  }

  static register(snakepit: SnakepitModuleOptions, topology: SampleTopology = {}): DynamicModule {
    if (topology.remote) return this.remote(topology);
    const redis = topology.redisUrl ? new Redis(topology.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 }) : undefined;
    const options = redis ? { ...snakepit, sessions: { ...snakepit.sessions, store: new RedisSessionStore(redis) } } : snakepit;
    const controllers: Type[] = [ExecuteController, HealthController, MetricsController, PoolController, SessionsController, SimilarityController, StreamController, ToolsController];
    return {
      module: AppModule,
      // A registry per app: the tests run several apps in one process.
      imports: [
        SnakepitModule.forRoot(options),
        SnakepitHealthModule,
        SnakepitMetricsModule.forRoot({ registry: new Registry() }),
        ...(topology.natsUrl ? [SnakepitHostModule.forRoot({ hostId: topology.hostId })] : []),
      ],
      controllers,
      providers: [MathTools, ApiDocs, { provide: SamplePools, useClass: LocalPools }, ...errorFilter, ...(redis ? [{ provide: RedisConnection, useValue: new RedisConnection(redis) }] : [])],
    };
  }

  /** No workers: every route calls the pools served on the broker. */
  private static remote(topology: SampleTopology): DynamicModule {
    if (!topology.natsUrl) throw new Error('SNAKEPIT_REMOTE=1 needs NATS_URL: the broker where hosts serve their pools');
    return {
      module: AppModule,
      imports: [SnakepitRemoteModule.forRoot({ client: { transport: Transport.NATS, options: { servers: topology.natsUrl, maxReconnectAttempts: -1, reconnectTimeWait: 250 } } }), SnakepitHealthModule],
      controllers: [ExecuteController, RemoteHealthController, RemotePoolController, SessionsController, StreamController],
      providers: [{ provide: SamplePools, useFactory: (remote: RemotePoolService): SamplePools => remote, inject: [RemotePoolService] }, ...errorFilter],
    };
  }
}
