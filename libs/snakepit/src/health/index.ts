export { SnakepitHealthModule } from './snakepit-health.module';
export { SnakepitHealthIndicator, type PoolHealth, type SnakepitHealthOptions } from './snakepit-health.indicator';
export { RemotePoolHealthIndicator, type RemotePoolHealthOptions } from './remote-pool-health.indicator';
