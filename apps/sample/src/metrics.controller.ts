import { Controller, Get, Res } from '@nestjs/common';
import { SnakepitMetrics } from '@snakepit/nestjs/metrics';
import type { Response } from 'express';

/** GET /metrics: the pools' metrics in Prometheus text format (SnakepitMetricsModule). */
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: SnakepitMetrics) {}

  @Get()
  async scrape(@Res() res: Response): Promise<void> {
    res.type(this.metrics.contentType).send(await this.metrics.metrics());
  }
}
