/** Small timing helpers for the benchmarks. */
export interface LatencySummary {
  calls: number;
  p50Us: number;
  p99Us: number;
  callsPerSec: number;
}

/** Runs `call` `count` times one after another. */
export async function sequential(count: number, call: () => Promise<unknown>): Promise<LatencySummary> {
  const samples = new Float64Array(count);
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    await call();
    samples[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  const totalSec = Number(process.hrtime.bigint() - start) / 1e9;
  samples.sort();
  return {
    calls: count,
    p50Us: samples[Math.floor(count * 0.5)],
    p99Us: samples[Math.floor(count * 0.99)],
    callsPerSec: count / totalSec,
  };
}

/** Runs `count` calls with `concurrency` in flight at all times; returns calls per second. */
export async function concurrent(count: number, concurrency: number, call: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await call(next++);
    }),
  );
  return count / (Number(process.hrtime.bigint() - start) / 1e9);
}

export async function timeMs(work: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
