import { LatencyHistogram, type LatencySummary } from './latency-histogram';

/** Queue wait and execution time of the calls of one pool, or of one tool. */
export interface CallLatency {
  /** From the call's arrival until a worker took it (calls that reached a worker). */
  queueWaitMs: LatencySummary;
  /** From dispatch until the result, error or end of stream (calls that reached a worker). */
  executionMs: LatencySummary;
}

export interface ToolMetrics extends CallLatency {
  calls: number;
  errors: number;
}

class Timings {
  readonly queueWait = new LatencyHistogram();
  readonly execution = new LatencyHistogram();
  calls = 0;
  errors = 0;

  record(queueWaitMs: number, executionMs: number, ok: boolean): void {
    this.queueWait.record(queueWaitMs);
    this.execution.record(executionMs);
    this.calls++;
    if (!ok) this.errors++;
  }

  latency(): CallLatency {
    return { queueWaitMs: this.queueWait.summary(), executionMs: this.execution.summary() };
  }
}

/** Latency histograms of one pool, overall and per tool. Only calls that reached a worker count,
 *  so the tools are the adapter's own (a bounded set). */
export class CallMetrics {
  private readonly pool = new Timings();
  private readonly tools = new Map<string, Timings>();

  record(tool: string, queueWaitMs: number, executionMs: number, ok: boolean): void {
    this.pool.record(queueWaitMs, executionMs, ok);
    let timings = this.tools.get(tool);
    if (!timings) this.tools.set(tool, (timings = new Timings()));
    timings.record(queueWaitMs, executionMs, ok);
  }

  latency(): CallLatency {
    return this.pool.latency();
  }

  byTool(): Record<string, ToolMetrics> {
    const out: Record<string, ToolMetrics> = {};
    for (const [tool, timings] of [...this.tools].sort(([a], [b]) => a.localeCompare(b))) {
      out[tool] = { calls: timings.calls, errors: timings.errors, ...timings.latency() };
    }
    return out;
  }
}
