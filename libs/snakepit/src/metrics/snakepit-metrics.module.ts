import { Module, type DynamicModule } from '@nestjs/common';
import { SNAKEPIT_METRICS_OPTIONS, type SnakepitMetricsOptions } from './metrics.options';
import { SnakepitMetrics } from './snakepit-metrics.service';

/**
 * Prometheus metrics of the pools (see SnakepitMetrics), with prom-client. A module of its own
 * (`@snakepit/nestjs/metrics`), so applications without prom-client never load it. Serve them
 * from a controller of yours: `@Get('metrics') metrics() { return this.metrics.metrics(); }`.
 */
@Module({})
export class SnakepitMetricsModule {
  static forRoot(options: SnakepitMetricsOptions = {}): DynamicModule {
    return {
      module: SnakepitMetricsModule,
      providers: [{ provide: SNAKEPIT_METRICS_OPTIONS, useValue: options }, SnakepitMetrics],
      exports: [SnakepitMetrics],
    };
  }
}
