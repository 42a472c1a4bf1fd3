/** A tool under which workers keep dying. */
export interface PoisonTool {
  tool: string;
  /** Workers that died under it within the window. */
  crashes: number;
  /** When the last one died (ISO 8601). */
  lastCrashAt: string;
}

/**
 * Counts, per tool, the workers that died while running it, within a sliding window. A tool
 * that reaches `threshold` deaths is suspected of being poison: a request that kills whichever
 * worker runs it. Pure: the caller passes the time. It holds at most one entry per tool that
 * crashed within the window, and the tools are the adapter's own (a bounded set).
 */
export class PoisonDetector {
  private readonly deaths = new Map<string, number[]>();

  constructor(private readonly threshold: number, private readonly windowMs: number) {}

  /** A worker died running `tools` at `now`. Returns the tools that have just become suspects. */
  record(tools: Iterable<string>, now: number): PoisonTool[] {
    const suspects: PoisonTool[] = [];
    for (const tool of new Set(tools)) {
      const times = this.recent(tool, now);
      times.push(now);
      this.deaths.set(tool, times);
      if (times.length === this.threshold) suspects.push(this.describe(tool, times));
    }
    return suspects;
  }

  /** The suspects at `now`, most crashes first. */
  suspects(now: number): PoisonTool[] {
    const found: PoisonTool[] = [];
    for (const tool of [...this.deaths.keys()]) {
      const times = this.recent(tool, now);
      if (times.length === 0) this.deaths.delete(tool);
      else if (times.length >= this.threshold) found.push(this.describe(tool, times));
    }
    return found.sort((a, b) => b.crashes - a.crashes || a.tool.localeCompare(b.tool));
  }

  private recent(tool: string, now: number): number[] {
    return (this.deaths.get(tool) ?? []).filter((at) => now - at < this.windowMs);
  }

  private describe(tool: string, times: number[]): PoisonTool {
    return { tool, crashes: times.length, lastCrashAt: new Date(times[times.length - 1]).toISOString() };
  }
}
