import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
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

  /** Replaces one worker; answers once its successor is ready. */
  @Post('workers/:id/recycle')
  @HttpCode(204)
  async recycle(@Param('id') id: string): Promise<void> {
    await this.pool.recycle(id);
  }

  /** Starts a failed pool again now, or recycles every worker of a running one. */
  @Post('restart')
  @HttpCode(204)
  async restart(@Query('pool') pool?: string): Promise<void> {
    await this.pool.restart(pool);
  }
}
