/** Percentiles of a latency histogram, in milliseconds. */
export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** Sum of every sample, for averages and Prometheus. */
  sum: number;
}

/** Bucket i holds samples up to FLOOR_MS × GROWTH^i: about 4% resolution from 10 µs up. */
const FLOOR_MS = 0.01;
const GROWTH = 1.04;
const LOG_GROWTH = Math.log(GROWTH);

/**
 * A latency histogram in constant memory: log-spaced buckets (each 4% wider than the one
 * before), so any percentile is known within about 4%, however many samples it holds.
 */
export class LatencyHistogram {
  private readonly buckets = new Map<number, number>();
  private count = 0;
  private sum = 0;
  private max = 0;

  record(ms: number): void {
    const value = Math.max(0, ms);
    const index = value <= FLOOR_MS ? 0 : Math.ceil(Math.log(value / FLOOR_MS) / LOG_GROWTH);
    this.buckets.set(index, (this.buckets.get(index) ?? 0) + 1);
    this.count++;
    this.sum += value;
    if (value > this.max) this.max = value;
  }

  summary(): LatencySummary {
    return {
      count: this.count,
      p50: this.percentile(0.5),
      p95: this.percentile(0.95),
      p99: this.percentile(0.99),
      max: round(this.max),
      sum: round(this.sum),
    };
  }

  /** The upper bound of the bucket holding the q-th sample (never above the largest sample). */
  private percentile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (const index of [...this.buckets.keys()].sort((a, b) => a - b)) {
      seen += this.buckets.get(index)!;
      if (seen >= rank) return round(Math.min(this.max, FLOOR_MS * GROWTH ** index));
    }
    return round(this.max);
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
