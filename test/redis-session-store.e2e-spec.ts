import { spawnSync } from 'node:child_process';
import { NdArray, RedisSessionStore, SessionService, SessionStoreUnavailableError } from '@snakepit/nestjs';
import { describeSessionStore } from '../libs/snakepit/test-support/session-store-contract';
import { bootApp, rejectionOf } from './support/app';
import { startRedis, type RedisUnderTest } from './support/redis';

const hasRedis = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
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
    return { store: new RedisSessionStore(client, { keyPrefix: `t${++tests}:`, maxTotalBytes }), close: async () => void client.disconnect() };
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
