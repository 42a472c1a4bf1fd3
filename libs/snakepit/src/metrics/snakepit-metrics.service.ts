import { Inject, Injectable, Optional, type OnModuleDestroy } from '@nestjs/common';
import { Counter, Gauge, Histogram, register as globalRegistry, type Metric, type Registry } from 'prom-client';
import { MetricsConflictError } from '../errors';
import { PoolService } from '../pool/pool.service';
import type { PoolStats } from '../pool/pool.types';
import { SnakepitEvent } from '../telemetry/events';
import type { EventMap } from '../telemetry/events';
import { SnakepitEvents } from '../telemetry/snakepit-events';
import { DEFAULT_BUCKETS_SECONDS, SNAKEPIT_METRICS_OPTIONS, type SnakepitMetricsOptions } from './metrics.options';

/** The pools' counters that `snakepit_events_total` exports, by `kind`. */
const POOL_COUNTERS = ['requests', 'succeeded', 'errors', 'timeouts', 'aborted', 'cancelled', 'rejected', 'crashes', 'unresponsive', 'restarts', 'recycled', 'retries'] as const;

/**
 * Prometheus metrics of every pool, in prom-client's format:
 * - `snakepit_queue_wait_seconds` and `snakepit_execution_seconds`: histograms by pool and tool
 *   of the calls that reached a worker (so they add up across instances);
 * - `snakepit_requests_total{pool,tool,outcome}`: every finished call, `outcome` "ok",
 *   "cancelled" or the error's code (`tool` is "" for calls that never reached a worker, so a
 *   client cannot grow the label set with made-up tool names);
 * - gauges read at each scrape: `snakepit_workers{pool,state}`, `snakepit_pool_up{pool,status}`,
 *   `snakepit_queued_calls{pool}`, `snakepit_busy_workers{pool}`, and the pools' counters as
 *   `snakepit_events_total{pool,kind}`.
 */
@Injectable()
export class SnakepitMetrics implements OnModuleDestroy {
  readonly registry: Registry;
  private readonly owned: Metric[] = [];
  private readonly queueWait: Histogram<'pool' | 'tool'>;
  private readonly execution: Histogram<'pool' | 'tool'>;
  private readonly requests: Counter<'pool' | 'tool' | 'outcome'>;
  private readonly unsubscribe: Array<() => void>;

  constructor(
    private readonly pool: PoolService,
    events: SnakepitEvents,
    @Optional() @Inject(SNAKEPIT_METRICS_OPTIONS) options: SnakepitMetricsOptions = {},
  ) {
    this.registry = options.registry ?? globalRegistry;
    const buckets = options.buckets ?? DEFAULT_BUCKETS_SECONDS;
    this.queueWait = this.own(new Histogram({ name: 'snakepit_queue_wait_seconds', help: 'Time from a call\'s arrival until a worker took it', labelNames: ['pool', 'tool'], buckets, registers: [] }));
    this.execution = this.own(new Histogram({ name: 'snakepit_execution_seconds', help: 'Time from dispatch to a worker until the result', labelNames: ['pool', 'tool'], buckets, registers: [] }));
    this.requests = this.own(new Counter({ name: 'snakepit_requests_total', help: 'Finished calls by outcome ("ok", "cancelled" or the error code)', labelNames: ['pool', 'tool', 'outcome'], registers: [] }));
    this.registerGauges();
    this.registerAll();
    this.unsubscribe = [
      events.on(SnakepitEvent.RequestFinished, (payload) => this.observe(payload, payload.cancelled ? 'cancelled' : 'ok')),
      events.on(SnakepitEvent.RequestFailed, (payload) => this.observe(payload, payload.code)),
    ];
  }

  /** The registry's metrics in the Prometheus text format. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /** The Content-Type of `metrics()`. */
  get contentType(): string {
    return this.registry.contentType;
  }

  onModuleDestroy(): void {
    for (const stop of this.unsubscribe) stop();
    for (const metric of this.owned) this.registry.removeSingleMetric(nameOf(metric));
  }

  private observe(payload: EventMap['snakepit.request.finished'] | EventMap['snakepit.request.failed'], outcome: string): void {
    const pool = String(payload.pool);
    const ran = payload.ran === true;
    const tool = ran ? String(payload.tool) : '';
    this.requests.inc({ pool, tool, outcome });
    if (!ran) return;
    this.queueWait.observe({ pool, tool }, Number(payload.queueWaitMs) / 1000);
    this.execution.observe({ pool, tool }, Number(payload.executionMs) / 1000);
  }

  private registerGauges(): void {
    const stats = (): PoolStats[] => this.pool.listPools().map((name) => this.pool.stats(name));
    this.own(new Gauge({
      name: 'snakepit_workers', help: 'Worker processes by state', labelNames: ['pool', 'state'], registers: [],
      collect() {
        this.reset();
        for (const s of stats()) for (const [state, n] of Object.entries(s.workers)) this.set({ pool: s.pool, state }, n);
      },
    }));
    this.own(new Gauge({
      name: 'snakepit_pool_up', help: '1 when the pool serves (ready), else 0', labelNames: ['pool', 'status'], registers: [],
      collect() {
        this.reset();
        for (const s of stats()) this.set({ pool: s.pool, status: s.status }, s.status === 'ready' ? 1 : 0);
      },
    }));
    this.own(new Gauge({
      name: 'snakepit_queued_calls', help: 'Calls waiting for a worker', labelNames: ['pool'], registers: [],
      collect() {
        this.reset();
        for (const s of stats()) this.set({ pool: s.pool }, s.queued);
      },
    }));
    this.own(new Gauge({
      name: 'snakepit_busy_workers', help: 'Workers running a call now', labelNames: ['pool'], registers: [],
      collect() {
        this.reset();
        for (const s of stats()) this.set({ pool: s.pool }, s.busy);
      },
    }));
    this.own(new Counter({
      name: 'snakepit_events_total', help: 'The pool\'s counters since start: calls by outcome, and worker crashes, restarts, recycles', labelNames: ['pool', 'kind'], registers: [],
      collect() {
        this.reset();
        for (const s of stats()) for (const kind of POOL_COUNTERS) this.inc({ pool: s.pool, kind }, s[kind]);
      },
    }));
  }

  private own<M extends Metric>(metric: M): M {
    this.owned.push(metric);
    return metric;
  }

  /** Registers every metric, or none when one of the names is taken. */
  private registerAll(): void {
    const taken = this.owned.map(nameOf).filter((name) => this.registry.getSingleMetric(name));
    if (taken.length) throw new MetricsConflictError(taken);
    for (const metric of this.owned) this.registry.registerMetric(metric);
  }
}

function nameOf(metric: Metric): string {
  return (metric as unknown as { name: string }).name;
}
