import { Controller, Get } from '@nestjs/common';
import { PoolService } from '@snakepit/nestjs';

@Controller('pool')
export class PoolController {
  constructor(private readonly pool: PoolService) {}

  @Get('stats')
  stats() {
    return this.pool.listPools().map((name) => this.pool.stats(name));
  }

  @Get('workers')
  workers() {
    return this.pool.listPools().flatMap((name) => this.pool.listWorkers(name));
  }
}
