import { spawnSync } from 'node:child_process';
import { NdArray, RedisSessionStore, SessionService, SessionStoreUnavailableError } from '@snakepit/nestjs';
import { describeSessionStore } from '../libs/snakepit/test-support/session-store-contract';
import { bootApp, rejectionOf } from './support/app';
import { startRedis, type RedisUnderTest } from './support/redis';

const hasRedis = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
// In CI set-up installs it (make setup): a missing server there is a failure, not a skip.
if (!hasRedis && process.env.CI) throw new Error('no redis-server on PATH, though CI runs make setup, which installs it');
if (!hasRedis) console.warn('[test] no redis-server on PATH: the RedisSessionStore tests are skipped');

(hasRedis ? describe : describe.skip)('RedisSessionStore, against a real redis-server', () => {
  let redis: RedisUnderTest;
  let tests = 0;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(() => redis.close());

  /** The contract every SessionStore keeps, against a real redis-server: each test gets a prefix of its own. */
  describeSessionStore('RedisSessionStore', async (maxTotalBytes) => {
    const client = await redis.client();
    const keyPrefix = `t${++tests}:`;
    return {
      store: new RedisSessionStore(client, { keyPrefix, maxTotalBytes }),
      bytes: async () => Number((await client.get(`${keyPrefix}bytes`)) ?? 0),
      close: async () => void client.disconnect(),
    };
  });

  it('sweeps and lists many sessions a batch at a time', async () => {
    const store = new RedisSessionStore(await redis.client(), { keyPrefix: 'many:' });
    const now = Date.now();
    for (let i = 0; i < 1200; i++) await store.create({ id: `s${i}`, createdAt: now, lastAccessedAt: i < 1100 ? now - 10_000 : now, ttlMs: 5000, metadata: {} });
    expect((await store.list()).length).toBe(1200);
    expect((await store.sweep(now, new Set(['s0']))).length).toBe(1099);
    expect([await store.size(), (await store.list()).map((r) => r.id).sort().slice(0, 2)]).toEqual([101, ['s0', 's1100']]);
  });

  describe('RedisSessionStore in an application', () => {
    it('keeps sessions and their state (arrays included) in Redis, where another application sees them', async () => {
      const first = await bootApp({ poolSize: 1, sessions: { store: new RedisSessionStore(await redis.client(), { keyPrefix: 'app:' }) } });
      const second = await bootApp({ poolingEnabled: false, sessions: { store: new RedisSessionStore(await redis.client(), { keyPrefix: 'app:' }) } });
      try {
        const { id } = await first.module.get(SessionService).create();
        await first.pool.executeInSession(id, 'keep_in_state', { key: 'v', value: new Float32Array([1, 2, 3]) });
        const seen = (await second.module.get(SessionService).getState(id, 'v')) as NdArray<Float32Array>;
        expect([seen.dtype, Array.from(seen.data)]).toEqual(['float32', [1, 2, 3]]);
      } finally {
        await first.close();
        await second.close();
      }
    });

    it('fails session operations with SessionStoreUnavailableError while Redis is down; calls outside sessions go on', async () => {
      const app = await bootApp({ poolSize: 1, sessions: { store: new RedisSessionStore(await redis.client(), { keyPrefix: 'down:', operationTimeoutMs: 1000 }) } });
      try {
        const sessions = app.module.get(SessionService);
        const { id } = await sessions.create();
        await redis.stop();
        expect(await rejectionOf(sessions.getState(id, 'k'))).toBeInstanceOf(SessionStoreUnavailableError);
        expect(await rejectionOf(app.pool.executeInSession(id, 'add', { a: 1, b: 2 }))).toBeInstanceOf(SessionStoreUnavailableError);
        await expect(app.pool.execute('add', { a: 1, b: 2 })).resolves.toBe(3);
        await redis.start();
      } finally {
        await app.close();
      }
    });
  });
});
