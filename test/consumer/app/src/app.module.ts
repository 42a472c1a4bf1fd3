import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { SnakepitModule } from '@snakepit/nestjs';
import { SnakepitHealthModule } from '@snakepit/nestjs/health';
import { SnakepitExceptionFilter } from '@snakepit/nestjs/http';
import { SnakepitMetricsModule } from '@snakepit/nestjs/metrics';
import { AppController } from './app.controller.js';
import { Greeter } from './greeter.js';

@Module({
  imports: [
    SnakepitModule.forRoot({
      adapter: 'consumer_tools.adapter:ConsumerAdapter',
      pythonPath: ['python'], // from the project root, whatever the current directory
      poolSize: 2,
      instanceName: 'consumer-app',
      waitForReady: true,
      // The interpreter: SNAKEPIT_PYTHON, else the one `npx snakepit setup` recorded.
      python: { bridge: process.env.CONSUMER_BRIDGE === 'installed' ? 'installed' : 'bundled' },
      env: { CONSUMER_TOKEN: process.env.CONSUMER_TOKEN ?? '' },
    }),
    SnakepitHealthModule,
    SnakepitMetricsModule.forRoot(),
  ],
  controllers: [AppController],
  providers: [Greeter, { provide: APP_FILTER, useClass: SnakepitExceptionFilter }],
})
export class AppModule {}
