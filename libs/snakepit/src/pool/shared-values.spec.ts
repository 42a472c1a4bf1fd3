import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataPlane } from '../data/data-plane';
import { encodeValue } from '../data/value-encoder';
import { InvalidCallError, SerializationError, SharedMemoryBudgetError, SharedMemoryError, SharedValueClosedError } from '../errors';
import { SharedMemoryDir } from '../process/shared-memory-dir';
import { SharedValues } from './shared-values';

describe('SharedValues', () => {
  let parent: string;
  let dir: SharedMemoryDir;
  let plane: DataPlane;

  beforeAll(() => {
    parent = mkdtempSync(join(tmpdir(), 'snakepit-shared-values-spec-'));
  });
  afterAll(() => rmSync(parent, { recursive: true, force: true }));
  beforeEach(() => {
    dir = new SharedMemoryDir('run1', parent);
    plane = new DataPlane(dir, { thresholdBytes: 1024 });
  });
  afterEach(() => {
    jest.useRealTimers();
    dir.removeAll();
  });

  const values = (budgetBytes = 1 << 20, ttlMs = 0) => new SharedValues('default', plane, budgetBytes, ttlMs);
  const filesOf = (name: string) => [name, `${name}.meta`];
  /** 1000 bytes of buffer and 32 of JSON: {"w":{"$snakepit":"bytes","buffer":0}}. */
  const kilobyte = () => ({ w: Buffer.alloc(1000, 1) });
  const KILOBYTE_BYTES = 1000 + '{"w":{"$snakepit":"bytes","buffer":0}}'.length;

  it('writes a value once and counts the bytes it holds, JSON and buffers', () => {
    const pool = values();
    const shared = pool.share(kilobyte());
    expect(shared.bytes).toBe(KILOBYTE_BYTES);
    expect(dir.list().sort()).toEqual(filesOf(shared.name));
    expect(pool.stats()).toEqual({ values: 1, bytes: KILOBYTE_BYTES, budgetBytes: 1 << 20 });
    expect(shared.toJSON()).toEqual({ sharedValue: shared.name, bytes: KILOBYTE_BYTES, closed: false });
  });

  it('is sent by name: a "shared" tag that the call holds on to', () => {
    const shared = values().share(kilobyte());
    const out = plane.outgoing({ model: shared }, 'args');
    expect(JSON.parse(Buffer.from(out.value.json).toString())).toEqual({ model: { $snakepit: 'shared', name: shared.name } });
    expect(out.shared).toEqual([shared]);
  });

  it('refuses to go past the budget, and frees the bytes of a value when it closes', async () => {
    const pool = values(KILOBYTE_BYTES * 2 - 1);
    const first = pool.share(kilobyte());
    const refused = (() => {
      try {
        pool.share(kilobyte());
      } catch (error) {
        return error;
      }
    })();
    expect(refused).toBeInstanceOf(SharedMemoryBudgetError);
    expect(refused).toMatchObject({ pool: 'default', requestedBytes: KILOBYTE_BYTES, usedBytes: KILOBYTE_BYTES, budgetBytes: KILOBYTE_BYTES * 2 - 1 });
    expect(dir.list().sort()).toEqual(filesOf(first.name));
    await first.close();
    expect(pool.stats().bytes).toBe(0);
    expect(pool.share(kilobyte()).bytes).toBe(KILOBYTE_BYTES);
  });

  it('removes its files at close(), and refuses to be sent after it', async () => {
    const shared = values().share(kilobyte());
    await shared.close();
    await shared.close();
    expect(shared.closed).toBe(true);
    expect(dir.list()).toEqual([]);
    expect(() => shared.sharedName).toThrow(SharedValueClosedError);
    expect(() => plane.outgoing({ model: shared }, 'args')).toThrow(expect.objectContaining({ sharedName: shared.name, why: 'closed' }));
  });

  it('closed while calls hold it, keeps its files and its bytes in the budget until the last of them lets go (each once)', async () => {
    const pool = values();
    const shared = pool.share(kilobyte());
    const first = shared.hold();
    const second = shared.hold();
    await shared.close();
    first();
    first();
    expect(dir.list().sort()).toEqual(filesOf(shared.name));
    expect(pool.stats()).toMatchObject({ values: 0, bytes: KILOBYTE_BYTES });
    second();
    expect(dir.list()).toEqual([]);
    expect(pool.stats()).toMatchObject({ values: 0, bytes: 0 });
  });

  it('cannot hold another shared value, nor be mistaken for an object shaped like one', () => {
    const pool = values();
    const inner = pool.share(kilobyte());
    expect(() => pool.share({ inner })).toThrow(expect.objectContaining({ path: 'the shared value.inner' }));
    // A plain object with the same fields is data: sent as such (its function refused), never as a name.
    const lookalike = { sharedName: inner.name, hold: () => () => undefined };
    expect(() => encodeValue({ lookalike }, { root: 'args' })).toThrow('args.lookalike.hold is a function');
    expect(encodeValue({ lookalike: { sharedName: inner.name } }, { root: 'args' })).toMatchObject({ tags: 0, shared: [] });
  });

  it('keeps its files while open, however many calls let go', () => {
    const shared = values().share(kilobyte());
    shared.hold()();
    expect(dir.list().sort()).toEqual(filesOf(shared.name));
  });

  it('expires after its TTL (the pool’s, unless the share says otherwise)', () => {
    jest.useFakeTimers();
    const pool = values(1 << 20, 1000);
    const byPool = pool.share(kilobyte());
    const forever = pool.share(kilobyte(), { ttlMs: 0 });
    const short = pool.share(kilobyte(), { ttlMs: 10 });
    jest.advanceTimersByTime(10);
    expect([byPool.closed, forever.closed, short.closed]).toEqual([false, false, true]);
    expect(() => short.sharedName).toThrow(expect.objectContaining({ why: 'expired' }));
    jest.advanceTimersByTime(990);
    expect(byPool.closed).toBe(true);
    expect(dir.list().sort()).toEqual(filesOf(forever.name));
    expect(pool.stats()).toMatchObject({ values: 1, bytes: KILOBYTE_BYTES });
  });

  it('refuses a TTL that is not a whole number of milliseconds a timer can hold', () => {
    for (const ttlMs of [-1, 1.5, Number.NaN, 2 ** 31]) {
      expect(() => values().share(kilobyte(), { ttlMs })).toThrow(InvalidCallError);
    }
    expect(dir.list()).toEqual([]);
  });

  it('closeAll() closes every value (the pool closes)', () => {
    const pool = values();
    const all = [pool.share(kilobyte()), pool.share({ config: 1 })];
    pool.closeAll();
    expect(all.map((shared) => shared.closed)).toEqual([true, true]);
    expect(pool.stats()).toMatchObject({ values: 0, bytes: 0 });
    expect(dir.list()).toEqual([]);
  });

  it('closes at the end of an `await using` block (Symbol.asyncDispose)', async () => {
    const pool = values();
    let name = '';
    {
      await using shared = pool.share(kilobyte());
      name = shared.name;
      expect(dir.list()).toContain(name);
    }
    expect(dir.list()).toEqual([]);
    const direct = pool.share(kilobyte());
    await direct[Symbol.asyncDispose]();
    expect(direct.closed).toBe(true);
  });

  it('refuses a value that cannot travel, naming where, and a failed write as a SharedMemoryError', () => {
    expect(() => values().share({ weights: [1, NaN] })).toThrow(expect.objectContaining({ constructor: SerializationError, path: 'the shared value.weights[1]' }));
    const off = new SharedValues('default', new DataPlane(dir, { thresholdBytes: Infinity }), 1 << 20, 0);
    expect(() => off.share({ a: 1 })).toThrow(SharedMemoryError);
    expect(off.stats().values).toBe(0);
  });
});
