import type { SnakepitError } from '../errors';
import { CallMetrics } from '../telemetry/call-metrics';
import { SnakepitEvent } from '../telemetry/events';
import type { EventMap, EventName } from '../telemetry/events';
import type { Call } from './call';

/** How a pool reports: the application's event sink, shared by its pools. */
export interface EventSink {
  emit<K extends EventName>(event: K, payload: EventMap[K]): void;
  /** Whether anyone would hear `event`: lets a hot path skip building its payload. */
  listening(event: EventName): boolean;
}

const SATURATION_EVENT_EVERY_MS = 1000;

/** One pool's events and latency histograms. */
export class PoolTelemetry {
  readonly metrics = new CallMetrics();
  private saturatedAt = 0;

  constructor(readonly pool: string, private readonly sink: EventSink) {}

  emit<K extends EventName>(event: K, payload: EventMap[K]): void {
    this.sink.emit(event, payload);
  }

  /** Records the call's queue wait and execution time, and emits how it ended. */
  callEnded(call: Call, error: SnakepitError | undefined, cancelled: boolean): void {
    const now = performance.now();
    const ran = call.dispatchedAt !== undefined;
    const queueWaitMs = (call.dispatchedAt ?? now) - call.arrivedAt;
    const executionMs = ran ? now - call.dispatchedAt! : 0;
    if (ran) this.metrics.record(call.tool, queueWaitMs, executionMs, !error);
    const event = error ? SnakepitEvent.RequestFailed : SnakepitEvent.RequestFinished;
    if (!this.sink.listening(event)) return; // the common case: no payload to build
    const facts = { pool: this.pool, tool: call.tool, durationMs: now - call.arrivedAt, queueWaitMs, executionMs, ran, attempts: call.attempts + 1 };
    if (error) this.sink.emit(SnakepitEvent.RequestFailed, { ...facts, code: error.code ?? 'unknown' });
    else this.sink.emit(SnakepitEvent.RequestFinished, { ...facts, cancelled });
  }

  /** `snakepit.pool.saturated`, at most once a second however many calls are refused. */
  saturated(queued: number, maxQueueSize: number): void {
    const now = Date.now();
    if (now - this.saturatedAt < SATURATION_EVENT_EVERY_MS) return;
    this.saturatedAt = now;
    this.sink.emit(SnakepitEvent.PoolSaturated, { pool: this.pool, queued, maxQueueSize });
  }
}
