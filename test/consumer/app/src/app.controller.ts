import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { PoolService, SessionService } from '@snakepit/nestjs';
import { SnakepitHealthIndicator } from '@snakepit/nestjs/health';
import { RequestAbortSignal, sendServerSentEvents } from '@snakepit/nestjs/http';
import { SnakepitMetrics } from '@snakepit/nestjs/metrics';

@Controller()
export class AppController {
  constructor(
    private readonly pool: PoolService,
    private readonly sessions: SessionService,
    private readonly health: HealthCheckService,
    private readonly snakepit: SnakepitHealthIndicator,
    private readonly metrics: SnakepitMetrics,
  ) {}

  @Post('execute/:tool')
  @HttpCode(200)
  async execute(@Param('tool') tool: string, @Body() args: Record<string, unknown>, @RequestAbortSignal() signal: AbortSignal) {
    return { result: await this.pool.execute(tool, args, { signal }) };
  }

  @Post('sessions')
  createSession() {
    return this.sessions.create();
  }

  @Post('sessions/:id/execute/:tool')
  @HttpCode(200)
  async executeInSession(@Param('id') id: string, @Param('tool') tool: string, @Body() args: Record<string, unknown>) {
    return { result: await this.pool.executeInSession(id, tool, args) };
  }

  @Get('stream/:tool')
  stream(@Param('tool') tool: string, @Query('n') n: string, @Res() res: ServerResponse): Promise<void> {
    return sendServerSentEvents(res, this.pool.executeStream(tool, { n: Number(n) }));
  }

  @Get('health')
  @HealthCheck()
  check() {
    return this.health.check([() => this.snakepit.isHealthy('snakepit')]);
  }

  @Get('metrics')
  async scrape(@Res() res: ServerResponse): Promise<void> {
    res.writeHead(200, { 'content-type': this.metrics.contentType });
    res.end(await this.metrics.metrics());
  }

  @Get('run-id')
  runId() {
    return { runId: this.pool.runId };
  }
}
