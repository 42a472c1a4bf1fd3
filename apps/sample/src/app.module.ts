import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { SnakepitModule, type SnakepitModuleOptions } from '@snakepit/nestjs';
import { SnakepitHealthModule } from '@snakepit/nestjs/health';
import { HealthController } from './health.controller';
import { ExecuteController } from './execute.controller';
import { MathTools } from './math.tools';
import { SessionsController } from './sessions.controller';
import { StreamController } from './stream.controller';
import { ToolsController } from './tools.controller';
import { PoolController } from './pool.controller';
import { MetricsController } from './metrics.controller';
import { SnakepitErrorFilter } from './snakepit-error.filter';

@Module({})
export class AppModule {
  static register(snakepit: SnakepitModuleOptions) {
    return {
      module: AppModule,
      imports: [SnakepitModule.forRoot(snakepit), SnakepitHealthModule],
      controllers: [ExecuteController, HealthController, MetricsController, PoolController, SessionsController, StreamController, ToolsController],
      providers: [MathTools, { provide: APP_FILTER, useClass: SnakepitErrorFilter }],
    };
  }
}
