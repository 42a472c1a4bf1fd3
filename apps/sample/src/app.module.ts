import { Module, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { SnakepitModule, type SnakepitModuleOptions } from '@snakepit/nestjs';
import { SnakepitHealthModule } from '@snakepit/nestjs/health';
import { SnakepitExceptionFilter, SNAKEPIT_EXCEPTION_FILTER_OPTIONS } from '@snakepit/nestjs/http';
import { SnakepitMetricsModule } from '@snakepit/nestjs/metrics';
import { Registry } from 'prom-client';
import { HealthController } from './health.controller';
import { ExecuteController } from './execute.controller';
import { MathTools } from './math.tools';
import { SessionsController } from './sessions.controller';
import { SimilarityController } from './similarity.controller';
import { StreamController } from './stream.controller';
import { ToolsController } from './tools.controller';
import { PoolController } from './pool.controller';
import { MetricsController } from './metrics.controller';
import { JsonBodyOnlyMiddleware } from './json-body-only.middleware';

@Module({})
export class AppModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(JsonBodyOnlyMiddleware).forRoutes('*');
  }

  static register(snakepit: SnakepitModuleOptions) {
    return {
      module: AppModule,
      // A registry per app: the tests run several apps in one process.
      imports: [SnakepitModule.forRoot(snakepit), SnakepitHealthModule, SnakepitMetricsModule.forRoot({ registry: new Registry() })],
      controllers: [ExecuteController, HealthController, MetricsController, PoolController, SessionsController, SimilarityController, StreamController, ToolsController],
      providers: [
        MathTools,
        // A demo: it shows Python's tracebacks to HTTP clients, which an app in production should not.
        { provide: SNAKEPIT_EXCEPTION_FILTER_OPTIONS, useValue: { exposeDetails: true } },
        { provide: APP_FILTER, useClass: SnakepitExceptionFilter },
      ],
    };
  }
}
