import { SessionStoreUnavailableError } from '../errors';
import { RedisSessionStore, type RedisEvalClient } from './redis-session.store';

/** How the store fails when its client does: a client that never answers, one that throws at
 *  once, one that rejects (the contract itself runs against a real redis-server, in test/). */
describe('RedisSessionStore, when Redis fails', () => {
  const at = { now: 1, pinned: false };

  it('gives SessionStoreUnavailableError when Redis does not answer within operationTimeoutMs', async () => {
    const silent: RedisEvalClient = { eval: () => new Promise(() => undefined) };
    const started = Date.now();
    await expect(new RedisSessionStore(silent, { operationTimeoutMs: 50 }).get('s1', at)).rejects.toThrow(SessionStoreUnavailableError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('types a client that throws at once or rejects, and leaves no timer behind to reject later', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const throwing: RedisEvalClient = {
        eval: () => {
          throw new Error('not connected');
        },
      };
      await expect(new RedisSessionStore(throwing, { operationTimeoutMs: 20 }).size()).rejects.toThrow(/not connected/);
      const rejecting: RedisEvalClient = { eval: async () => Promise.reject(new Error('WRONGTYPE')) };
      await expect(new RedisSessionStore(rejecting, { operationTimeoutMs: 20 }).delete('s1')).rejects.toMatchObject({ code: 'session_store_unavailable' });
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('refuses an empty key prefix', () => {
    expect(() => new RedisSessionStore({ eval: async () => 0 }, { keyPrefix: '' })).toThrow(/keyPrefix must not be empty/);
  });
});
