import type { Registry } from 'prom-client';

export interface SnakepitMetricsOptions {
  /** The registry the metrics go to. Default: prom-client's global `register`, so they appear
   *  beside the app's own metrics. Give each application its own when several run in one process. */
  registry?: Registry;
  /** Histogram buckets, in seconds, for queue wait and execution time. Default: 0.5 ms to 120 s. */
  buckets?: number[];
}

export const SNAKEPIT_METRICS_OPTIONS = Symbol('snakepit:metrics-options');

export const DEFAULT_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
