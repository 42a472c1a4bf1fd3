import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, MemoryHealthIndicator } from '@nestjs/terminus';
import { SnakepitHealthIndicator } from '@snakepit/nestjs/health';

const HEAP_LIMIT_BYTES = 1024 ** 3;

/** Terminus checks: liveness (the process answers), readiness (the pools serve), and both with details. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly snakepit: SnakepitHealthIndicator,
    private readonly memory: MemoryHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.snakepit.isHealthy('snakepit'), () => this.memory.checkHeap('memory_heap', HEAP_LIMIT_BYTES)]);
  }

  /** Python's trouble never makes the Node process "dead": restarting it would not help. */
  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.snakepit.isHealthy('snakepit')]);
  }
}
