import { backoffDelay } from './backoff';

export interface RestartBudgetConfig {
  maxRestarts: number;
  windowMs: number;
  backoffMs: number;
  maxBackoffMs: number;
}

/**
 * How many dead workers a pool may replace, and how soon. Pure: the caller passes the time.
 * Within any `windowMs`, up to `maxRestarts` replacements are allowed: the first at once, each
 * further one after a backoff that doubles; one more means the pool should give up.
 */
export class RestartBudget {
  private restarts: number[] = [];

  constructor(private readonly config: RestartBudgetConfig, private readonly random: () => number = Math.random) {}

  /** A replacement is needed at `now`: the delay before starting it, or undefined when the budget is spent. */
  next(now: number): number | undefined {
    this.restarts = this.restarts.filter((at) => now - at < this.config.windowMs);
    if (this.restarts.length >= this.config.maxRestarts) return undefined;
    const earlier = this.restarts.length;
    this.restarts.push(now);
    return earlier === 0 ? 0 : backoffDelay(this.config.backoffMs, earlier - 1, this.config.maxBackoffMs, this.random);
  }

  /** Replacements counted in the window ending at `now`. */
  used(now: number): number {
    return this.restarts.filter((at) => now - at < this.config.windowMs).length;
  }

  /** A fresh start (the pool recovered). */
  reset(): void {
    this.restarts = [];
  }
}
