import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { RemotePoolHealthIndicator } from '@snakepit/nestjs/health';

/** Terminus checks of a remote-mode app: the hosts it sees and their capacity. */
@Controller('health')
export class RemoteHealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly remote: RemotePoolHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.remote.isHealthy('snakepit_remote')]);
  }

  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.remote.isHealthy('snakepit_remote')]);
  }
}
