export { SnakepitMetricsModule } from './snakepit-metrics.module';
export { SnakepitMetrics } from './snakepit-metrics.service';
export { DEFAULT_BUCKETS_SECONDS, SNAKEPIT_METRICS_OPTIONS, type SnakepitMetricsOptions } from './metrics.options';
