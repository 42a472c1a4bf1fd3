import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { RemotePoolHealthIndicator } from './remote-pool-health.indicator';
import { SnakepitHealthIndicator } from './snakepit-health.indicator';

/**
 * `SnakepitHealthIndicator` (and `RemotePoolHealthIndicator`, for remote pools) for @nestjs/terminus. A module of its own (imported from
 * `@snakepit/nestjs/health`), so that applications without Terminus never load it.
 */
@Module({
  imports: [TerminusModule],
  providers: [SnakepitHealthIndicator, RemotePoolHealthIndicator],
  exports: [SnakepitHealthIndicator, RemotePoolHealthIndicator, TerminusModule],
})
export class SnakepitHealthModule {}
