import { SessionQuotaError, SessionStoreFullError } from '../src/errors';
import type { AccessTime, SessionRecord, SessionStore } from '../src/session/session-store';

/** A store to test, made fresh for each test, and how to let it go. */
export interface StoreUnderTest {
  store: SessionStore;
  /** What the store counts all its sessions as holding, in bytes. */
  bytes: () => Promise<number>;
  close?: () => Promise<void>;
}

const LIMITS = { maxKeys: 3, maxSessionBytes: 100 };
const at = (now: number, pinned = false): AccessTime => ({ now, pinned });
const record = (id: string, over: Partial<SessionRecord> = {}): SessionRecord => ({ id, createdAt: 1000, lastAccessedAt: 1000, ttlMs: 500, metadata: {}, ...over });

/**
 * What every SessionStore does, whatever it keeps its sessions in: the in-memory store runs it as
 * a unit test, the Redis store against a real redis-server (test/redis-session-store.e2e-spec.ts).
 * `make(maxTotalBytes)` gives a fresh, empty store.
 */
export function describeSessionStore(name: string, make: (maxTotalBytes?: number) => Promise<StoreUnderTest>): void {
  describe(`SessionStore contract: ${name}`, () => {
    let under: StoreUnderTest;
    let store: SessionStore;
    beforeEach(async () => {
      under = await make();
      store = under.store;
    });
    afterEach(() => under.close?.());

    it('creates a session once; get does not count as use, touch does', async () => {
      const metadata = { user: 'żółw', n: 1.5, list: [1, { a: null }], empty: [] };
      expect(await store.create(record('s1', { metadata }))).toBe(true);
      expect(await store.create(record('s1'))).toBe(false);
      expect(await store.get('s1', at(1200))).toEqual({ status: 'live', record: record('s1', { metadata }), value: undefined });
      expect(await store.touch('s1', at(1300))).toMatchObject({ status: 'live', record: { lastAccessedAt: 1300 } });
      expect(await store.get('s1', at(1700))).toMatchObject({ status: 'live', record: { lastAccessedAt: 1300, metadata } });
      expect(await store.get('nope', at(1000))).toEqual({ status: 'missing' });
    });

    it('expires a session idle for its TTL when an operation finds it: once, then it is missing', async () => {
      await store.create(record('s1'));
      await store.setState('s1', 'k', '1', at(1000), LIMITS);
      expect(await store.touch('s1', at(1500))).toMatchObject({ status: 'expired', record: { id: 's1', lastAccessedAt: 1000 } });
      expect(await store.getState('s1', 'k', at(1500))).toEqual({ status: 'missing' });
      expect(await store.size()).toBe(0);
    });

    it('does not expire a pinned session (a call of it is in flight)', async () => {
      await store.create(record('s1'));
      expect(await store.touch('s1', at(5000, true))).toMatchObject({ status: 'live', record: { lastAccessedAt: 5000 } });
      expect(await store.get('s1', at(5400))).toMatchObject({ status: 'live' });
    });

    it('keeps state values as JSON text: set, replace, read, delete; each counts as use', async () => {
      await store.create(record('s1'));
      expect(await store.getState('s1', 'k', at(1100))).toMatchObject({ status: 'live', value: { found: false } });
      await store.setState('s1', 'k', '{"a":[1,2]}', at(1200), LIMITS);
      await store.setState('s1', 'k', '"żółw"', at(1300), LIMITS);
      expect(await store.getState('s1', 'k', at(1400))).toMatchObject({ status: 'live', record: { lastAccessedAt: 1400 }, value: { found: true, json: '"żółw"' } });
      expect(await store.deleteState('s1', 'k', at(1500))).toMatchObject({ status: 'live', record: { lastAccessedAt: 1500 } });
      expect(await store.deleteState('s1', 'k', at(1600))).toMatchObject({ status: 'live' });
      expect(await store.getState('s1', 'k', at(1700))).toMatchObject({ value: { found: false } });
      expect(await store.setState('nope', 'k', '1', at(1000), LIMITS)).toEqual({ status: 'missing' });
    });

    it('enforces maxKeys and maxSessionBytes (UTF-8 bytes of metadata, keys and values) in the same step, storing nothing past them', async () => {
      await store.create(record('s1', { metadata: { m: 'x' } })); // {"m":"x"}: 9 bytes
      for (const key of ['a', 'b', 'c']) await store.setState('s1', key, '1', at(1000), LIMITS);
      await expect(store.setState('s1', 'd', '1', at(1000), LIMITS)).rejects.toMatchObject({ constructor: SessionQuotaError, limit: 'maxKeys' });
      await store.setState('s1', 'a', '2', at(1000), LIMITS); // replacing a key needs no new one
      const big = JSON.stringify('ż'.repeat(40)); // 82 bytes: 9 + 2 + 2 + 1 + 82 = 96 with keys b and c
      await store.setState('s1', 'a', big, at(1000), LIMITS);
      await expect(store.setState('s1', 'b', JSON.stringify('ż'.repeat(3)), at(1000), LIMITS)).rejects.toMatchObject({ constructor: SessionQuotaError, limit: 'maxSessionBytes' });
      expect(await store.getState('s1', 'b', at(1000))).toMatchObject({ value: { found: true, json: '1' } });
      await store.deleteState('s1', 'a', at(1000));
      await store.setState('s1', 'b', JSON.stringify('ż'.repeat(3)), at(1000), LIMITS); // room again
    });

    it('deletes a session with its state, and lists and counts what there is', async () => {
      await store.create(record('s1'));
      await store.create(record('s2', { ttlMs: 10_000 }));
      await store.setState('s1', 'k', '1', at(1000), LIMITS);
      expect((await store.list()).map((r) => r.id).sort()).toEqual(['s1', 's2']);
      expect(await store.size()).toBe(2);
      expect(await store.delete('s1')).toBe(true);
      expect(await store.delete('s1')).toBe(false);
      await store.create(record('s1'));
      expect(await store.getState('s1', 'k', at(1000))).toMatchObject({ value: { found: false } });
    });

    it('sweeps idle sessions, touching the pinned ones instead', async () => {
      await store.create(record('idle'));
      await store.create(record('pinned'));
      await store.create(record('fresh', { lastAccessedAt: 1400 }));
      const swept = await store.sweep(1600, new Set(['pinned']));
      expect(swept.map((r) => r.id)).toEqual(['idle']);
      expect(swept[0]).toEqual(record('idle'));
      expect(await store.get('pinned', at(1700))).toMatchObject({ status: 'live', record: { lastAccessedAt: 1600 } });
      expect((await store.list()).map((r) => r.id).sort()).toEqual(['fresh', 'pinned']);
    });

    it('counts what all sessions hold through every way a value or a session goes', async () => {
      const base = 1_764_000_000_000; // timestamps as Date.now() gives them
      const lim = { maxKeys: 10, maxSessionBytes: 1000 };
      await store.create(record('a', { createdAt: base, lastAccessedAt: base, metadata: { m: 'x' } })); // 9
      await store.create(record('b', { createdAt: base, lastAccessedAt: base })); // {}: 2
      expect(await under.bytes()).toBe(11);
      await store.setState('a', 'k', '"żż"', at(base), lim); // 1 + 6
      await store.setState('a', 'k', '1', at(base), lim); // replaced: 1 + 1
      await store.setState('b', 'j', '22', at(base), lim); // 1 + 2
      expect(await under.bytes()).toBe(16);
      await store.deleteState('a', 'k', at(base));
      expect(await under.bytes()).toBe(14);
      expect((await store.sweep(base + 500, new Set())).map((r) => r.id).sort()).toEqual(['a', 'b']);
      expect(await under.bytes()).toBe(0);
      await store.create(record('c', { createdAt: base, lastAccessedAt: base }));
      await store.setState('c', 'k', '1', at(base + 100), lim);
      expect(await store.get('c', at(base + 599))).toMatchObject({ status: 'live', record: { lastAccessedAt: base + 100 } });
      expect(await store.touch('c', at(base + 600))).toMatchObject({ status: 'expired' });
      expect(await under.bytes()).toBe(0);
      await store.create(record('d'));
      await store.delete('d');
      expect([await under.bytes(), await store.size()]).toEqual([0, 0]);
    });

    it('hands out copies: changing a returned record changes nothing stored', async () => {
      await store.create(record('s1', { metadata: { a: 1 } }));
      const found = await store.get('s1', at(1000));
      if (found.status === 'live') found.record.metadata.a = 2;
      expect(await store.get('s1', at(1000))).toMatchObject({ record: { metadata: { a: 1 } } });
    });

    it('is full at maxTotalBytes: a create or a write past it throws SessionStoreFullError, and deleting frees room', async () => {
      const full = await make(40);
      try {
        await full.store.create(record('s1', { metadata: { pad: 'x'.repeat(20) } })); // 32 bytes
        await expect(full.store.create(record('s2', { metadata: { pad: 'y'.repeat(20) } }))).rejects.toBeInstanceOf(SessionStoreFullError);
        await expect(full.store.setState('s1', 'k', '"123456789"', at(1000), { maxKeys: 10, maxSessionBytes: 1000 })).rejects.toBeInstanceOf(SessionStoreFullError);
        await full.store.delete('s1');
        expect(await full.store.create(record('s2', { metadata: { pad: 'y'.repeat(20) } }))).toBe(true);
      } finally {
        await full.close?.();
      }
    });
  });
}
