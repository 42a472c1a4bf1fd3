import { LatencyHistogram } from './latency-histogram';

describe('LatencyHistogram', () => {
  it('is empty at first', () => {
    expect(new LatencyHistogram().summary()).toEqual({ count: 0, p50: 0, p95: 0, p99: 0, max: 0, sum: 0 });
  });

  it('knows percentiles within 4% whatever the spread', () => {
    const h = new LatencyHistogram();
    for (let ms = 1; ms <= 1000; ms++) h.record(ms);
    const s = h.summary();
    expect(s.count).toBe(1000);
    expect(s.sum).toBe(500500);
    expect(s.max).toBe(1000);
    for (const [got, want] of [[s.p50, 500], [s.p95, 950], [s.p99, 990]]) {
      expect(got).toBeGreaterThanOrEqual(want);
      expect(got).toBeLessThanOrEqual(want * 1.04);
    }
  });

  it('reports a single value as itself, and tiny or negative ones as near zero', () => {
    const h = new LatencyHistogram();
    h.record(12.5);
    expect(h.summary()).toMatchObject({ p50: 12.5, p99: 12.5, max: 12.5 });
    const tiny = new LatencyHistogram();
    tiny.record(-1);
    tiny.record(0.001);
    expect(tiny.summary().p99).toBeLessThanOrEqual(0.01);
  });
});
