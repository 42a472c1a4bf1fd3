import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { SnakepitModule, type SnakepitModuleOptions } from '@snakepit/nestjs';
import { ExecuteController } from './execute.controller';
import { PoolController } from './pool.controller';
import { SnakepitErrorFilter } from './snakepit-error.filter';

@Module({})
export class AppModule {
  static register(snakepit: SnakepitModuleOptions) {
    return {
      module: AppModule,
      imports: [SnakepitModule.forRoot(snakepit)],
      controllers: [ExecuteController, PoolController],
      providers: [{ provide: APP_FILTER, useClass: SnakepitErrorFilter }],
    };
  }
}
