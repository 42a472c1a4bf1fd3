import { classifyExit } from '../errors';
import { backoffDelay } from './backoff';
import { recycleReason } from './recycle-policy';
import { PoisonDetector } from './poison-detector';
import { RestartBudget } from './restart-budget';

describe('RestartBudget', () => {
  const config = { maxRestarts: 3, windowMs: 1000, backoffMs: 100, maxBackoffMs: 250 };

  it('replaces the first death at once, then backs off, doubling up to the cap', () => {
    const budget = new RestartBudget(config, () => 1); // no jitter: the full ceiling
    expect([budget.next(0), budget.next(10), budget.next(20)]).toEqual([0, 100, 200]);
  });

  it('refuses once maxRestarts fall within the window, and allows again when they age out', () => {
    const budget = new RestartBudget(config, () => 1);
    for (const at of [0, 10, 20]) expect(budget.next(at)).toBeDefined();
    expect(budget.next(30)).toBeUndefined();
    expect(budget.used(30)).toBe(3);
    expect(budget.next(1005)).toBe(200); // the first one (at 0) left the window; two remain, so the third backoff
    budget.reset();
    expect(budget.next(1006)).toBe(0);
  });

  it('a zero budget refuses every replacement', () => {
    expect(new RestartBudget({ ...config, maxRestarts: 0 }).next(0)).toBeUndefined();
  });
});

describe('backoffDelay', () => {
  it('stays between half and all of the capped exponential ceiling', () => {
    expect(backoffDelay(100, 0, 1000, () => 0)).toBe(50);
    expect(backoffDelay(100, 3, 1000, () => 1)).toBe(800);
    expect(backoffDelay(100, 10, 1000, () => 0.5)).toBe(750);
    expect(backoffDelay(0, 5, 1000)).toBe(0);
  });
});

describe('recycleReason', () => {
  const startedAt = new Date(1_000_000);

  it('names the first limit reached, and nothing without limits', () => {
    const worker = { startedAt, requests: 10, rssBytes: 300 * 1024 * 1024 };
    expect(recycleReason(worker, {}, 5_000_000)).toBeUndefined();
    expect(recycleReason(worker, { maxRequestsPerWorker: 10 }, 1_000_000)).toBe('requests');
    expect(recycleReason(worker, { maxRequestsPerWorker: 11 }, 1_000_000)).toBeUndefined();
    expect(recycleReason(worker, { memoryLimitMb: 200 }, 1_000_000)).toBe('memory');
    expect(recycleReason(worker, { memoryLimitMb: 400 }, 1_000_000)).toBeUndefined();
    expect(recycleReason(worker, { workerTtlMs: 500 }, 1_000_500)).toBe('ttl');
    expect(recycleReason(worker, { workerTtlMs: 500 }, 1_000_499)).toBeUndefined();
    expect(recycleReason({ startedAt, requests: 0 }, { memoryLimitMb: 1 }, 0)).toBeUndefined(); // not sampled yet
    expect(recycleReason({ startedAt, readyAt: new Date(1_000_400), requests: 0 }, { workerTtlMs: 500 }, 1_000_500)).toBeUndefined(); // age counts from ready
  });
});

describe('classifyExit', () => {
  it('classifies signals and the exit codes a shell reports for them', () => {
    expect(classifyExit({ exitCode: null, signal: 'SIGSEGV' })).toBe('segfault');
    expect(classifyExit({ exitCode: null, signal: 'SIGBUS' })).toBe('segfault');
    expect(classifyExit({ exitCode: null, signal: 'SIGABRT' })).toBe('abort');
    expect(classifyExit({ exitCode: null, signal: 'SIGKILL' })).toBe('killed');
    expect(classifyExit({ exitCode: 137, signal: null })).toBe('killed');
    expect(classifyExit({ exitCode: 139, signal: null })).toBe('segfault');
    expect(classifyExit({ exitCode: 1, signal: null })).toBe('other');
    expect(classifyExit({ exitCode: null, signal: 'SIGTERM' })).toBe('other');
  });
});

describe('PoisonDetector', () => {
  it('suspects a tool once workers died under it threshold times within the window, and forgets old deaths', () => {
    const detector = new PoisonDetector(3, 1000);
    expect(detector.record(['a'], 0)).toEqual([]);
    expect(detector.record(['a', 'a', 'b'], 100)).toEqual([]); // one death, even with two calls of a
    expect(detector.record(['a'], 200)).toEqual([{ tool: 'a', crashes: 3, lastCrashAt: new Date(200).toISOString() }]);
    expect(detector.record(['a'], 300)).toEqual([]); // already a suspect
    expect(detector.suspects(400)).toEqual([{ tool: 'a', crashes: 4, lastCrashAt: new Date(300).toISOString() }]);
    expect(detector.suspects(1150)).toEqual([]); // the deaths at 0 and 100 are out of the window
    expect(detector.record(['a'], 1250)).toEqual([]); // with 300: two in the window
    expect(detector.record(['a'], 1260)).toEqual([{ tool: 'a', crashes: 3, lastCrashAt: new Date(1260).toISOString() }]);
    expect(detector.suspects(5000)).toEqual([]);
  });
});
