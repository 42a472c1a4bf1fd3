import { Controller, Get, Header } from '@nestjs/common';
import { PoolService, type PoolStats } from '@snakepit/nestjs';
import { Counter, Gauge, Registry, type LabelValues } from 'prom-client';

const QUANTILES = [['0.5', 'p50'], ['0.95', 'p95'], ['0.99', 'p99']] as const;
type Summary = PoolStats['latency']['queueWaitMs'];

/** GET /metrics: the pools' stats in Prometheus text format, read from PoolService.stats() at each scrape. */
@Controller('metrics')
export class MetricsController {
  private readonly registry = new Registry();

  constructor(private readonly pool: PoolService) {
    const registers = [this.registry];
    const stats = () => this.pool.listPools().map((name) => this.pool.stats(name));
    new Gauge({
      name: 'snakepit_workers',
      help: 'Worker processes by state',
      labelNames: ['pool', 'state'],
      registers,
      collect() {
        this.reset();
        for (const s of stats()) for (const [state, n] of Object.entries(s.workers)) this.set({ pool: s.pool, state }, n);
      },
    });
    new Gauge({
      name: 'snakepit_pool_up',
      help: '1 when the pool serves (ready), 0 otherwise',
      labelNames: ['pool', 'status'],
      registers,
      collect() {
        this.reset();
        for (const s of stats()) this.set({ pool: s.pool, status: s.status }, s.status === 'ready' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'snakepit_queued_calls',
      help: 'Calls waiting for a worker',
      labelNames: ['pool'],
      registers,
      collect() {
        this.reset();
        for (const s of stats()) this.set({ pool: s.pool }, s.queued);
      },
    });
    const totals = ['requests', 'succeeded', 'errors', 'timeouts', 'rejected', 'crashes', 'restarts', 'recycled', 'retries'] as const;
    new Counter({
      name: 'snakepit_events_total',
      help: 'Calls by outcome, and worker lifecycle counts, since start',
      labelNames: ['pool', 'kind'],
      registers,
      collect() {
        this.reset();
        for (const s of stats()) for (const kind of totals) this.inc({ pool: s.pool, kind }, s[kind]);
      },
    });
    for (const [metric, field, help] of [
      ['snakepit_queue_wait_ms', 'queueWaitMs', 'Time from arrival until a worker took the call'],
      ['snakepit_execution_ms', 'executionMs', 'Time from dispatch until the result'],
    ] as const) {
      new Gauge({
        name: metric,
        help: `${help}, in milliseconds, by quantile (tool="" is the whole pool)`,
        labelNames: ['pool', 'tool', 'quantile'],
        registers,
        collect() {
          this.reset();
          const put = (labels: LabelValues<string>, summary: Summary) => {
            for (const [quantile, key] of QUANTILES) this.set({ ...labels, quantile }, summary[key]);
          };
          for (const s of stats()) {
            put({ pool: s.pool, tool: '' }, s.latency[field]);
            for (const [tool, m] of Object.entries(s.tools)) put({ pool: s.pool, tool }, m[field]);
          }
        },
      });
    }
  }

  @Get()
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
