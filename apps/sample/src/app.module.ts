import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { SnakepitModule, type SnakepitModuleOptions } from '@snakepit/nestjs';
import { ExecuteController } from './execute.controller';
import { MathTools } from './math.tools';
import { SessionsController } from './sessions.controller';
import { StreamController } from './stream.controller';
import { ToolsController } from './tools.controller';
import { PoolController } from './pool.controller';
import { SnakepitErrorFilter } from './snakepit-error.filter';

@Module({})
export class AppModule {
  static register(snakepit: SnakepitModuleOptions) {
    return {
      module: AppModule,
      imports: [SnakepitModule.forRoot(snakepit)],
      controllers: [ExecuteController, PoolController, SessionsController, StreamController, ToolsController],
      providers: [MathTools, { provide: APP_FILTER, useClass: SnakepitErrorFilter }],
    };
  }
}
