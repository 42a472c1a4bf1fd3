import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { SnakepitHealthIndicator } from './snakepit-health.indicator';

/**
 * `SnakepitHealthIndicator` for @nestjs/terminus. A module of its own (imported from
 * `@snakepit/nestjs/health`), so that applications without Terminus never load it.
 */
@Module({
  imports: [TerminusModule],
  providers: [SnakepitHealthIndicator],
  exports: [SnakepitHealthIndicator, TerminusModule],
})
export class SnakepitHealthModule {}
