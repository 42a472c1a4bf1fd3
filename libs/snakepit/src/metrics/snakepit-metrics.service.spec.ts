import { Registry } from 'prom-client';
import { MetricsConflictError } from '../errors';
import type { PoolService } from '../pool/pool.service';
import type { PoolStats } from '../pool/pool.types';
import { SnakepitEvent } from '../telemetry/events';
import { EventBus } from '../telemetry/event-bus';
import { SnakepitEvents } from '../telemetry/snakepit-events';
import { SnakepitMetrics } from './snakepit-metrics.service';

/** Just what the metrics read of a pool at each scrape. */
function poolWith(stats: Partial<PoolStats>): PoolService {
  const full = { pool: 'default', status: 'ready', workers: { total: 2, starting: 0, ready: 2, stopping: 0 }, busy: 1, queued: 3, requests: 7, crashes: 1, ...stats };
  return { listPools: () => ['default'], stats: () => full } as unknown as PoolService;
}

describe('SnakepitMetrics', () => {
  const finished = { pool: 'default', tool: 'predict', durationMs: 12, queueWaitMs: 2, executionMs: 10, ran: true, attempts: 1, cancelled: false };

  it('observes calls as histograms and counters, labelling only tools that reached a worker', async () => {
    const events = new EventBus();
    const registry = new Registry();
    const metrics = new SnakepitMetrics(poolWith({}), new SnakepitEvents(events), { registry });
    events.emit(SnakepitEvent.RequestFinished, finished);
    events.emit(SnakepitEvent.RequestFinished, { ...finished, executionMs: 3000 });
    const { cancelled: _cancelled, ...failed } = finished;
    events.emit(SnakepitEvent.RequestFailed, { ...failed, code: 'python_value_error' });
    // A call that never reached a worker: its tool name is whatever a client sent.
    events.emit(SnakepitEvent.RequestFailed, { ...failed, tool: 'made-up-by-a-client', ran: false, code: 'unknown_tool' });
    const text = await metrics.metrics();
    expect(text).toContain('snakepit_execution_seconds_bucket{le="0.01",pool="default",tool="predict"} 2');
    expect(text).toContain('snakepit_execution_seconds_bucket{le="2.5",pool="default",tool="predict"} 2');
    expect(text).toContain('snakepit_execution_seconds_count{pool="default",tool="predict"} 3');
    expect(text).toContain('snakepit_queue_wait_seconds_sum{pool="default",tool="predict"} 0.006');
    expect(text).toContain('snakepit_requests_total{pool="default",tool="predict",outcome="ok"} 2');
    expect(text).toContain('snakepit_requests_total{pool="default",tool="predict",outcome="python_value_error"} 1');
    expect(text).toContain('snakepit_requests_total{pool="default",tool="",outcome="unknown_tool"} 1');
    expect(text).not.toContain('made-up-by-a-client');
    expect(text).toContain('snakepit_workers{pool="default",state="ready"} 2');
    expect(text).toContain('snakepit_queued_calls{pool="default"} 3');
    expect(text).toContain('snakepit_busy_workers{pool="default"} 1');
    expect(text).toContain('snakepit_events_total{pool="default",kind="crashes"} 1');
    expect(metrics.contentType).toMatch(/^text\/plain/);
  });

  it('leaves the registry as it found it when the module goes, and refuses a registry already in use', () => {
    const registry = new Registry();
    const first = new SnakepitMetrics(poolWith({}), new SnakepitEvents(new EventBus()), { registry });
    expect(() => new SnakepitMetrics(poolWith({}), new SnakepitEvents(new EventBus()), { registry })).toThrow(MetricsConflictError);
    first.onModuleDestroy();
    expect(registry.getMetricsAsArray()).toHaveLength(0);
    const second = new SnakepitMetrics(poolWith({}), new SnakepitEvents(new EventBus()), { registry });
    expect(registry.getSingleMetric('snakepit_requests_total')).toBeDefined();
    second.onModuleDestroy();
  });
});
