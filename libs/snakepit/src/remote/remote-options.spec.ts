import { SnakepitConfigError } from '../errors';
import { isSubjectToken } from './remote-subjects';
import { newHostId, resolveHostOptions, resolveRemoteOptions, type RemotePoolOptions, type SnakepitHostOptions } from './remote-options';

/** The SnakepitConfigError `resolve` throws (fails the test when it throws nothing else). */
function configError(resolve: () => unknown): SnakepitConfigError {
  try {
    resolve();
  } catch (error) {
    expect(error).toBeInstanceOf(SnakepitConfigError);
    return error as SnakepitConfigError;
  }
  throw new Error('expected a SnakepitConfigError, nothing was thrown');
}

describe('remote-options', () => {
  describe('resolveHostOptions', () => {
    it('fills in the defaults', () => {
      const options = resolveHostOptions();
      expect(options).toMatchObject({ subjectPrefix: 'snakepit', heartbeatMs: 1000, maxStreamWindow: 256 });
      expect(isSubjectToken(options.hostId)).toBe(true);
      expect(resolveHostOptions({})).toMatchObject({ subjectPrefix: 'snakepit', heartbeatMs: 1000, maxStreamWindow: 256 });
    });

    it('makes a new host id at every start', () => {
      expect(resolveHostOptions().hostId).not.toBe(resolveHostOptions().hostId);
      expect(newHostId()).toContain(`-${process.pid}-`);
      expect(isSubjectToken(newHostId())).toBe(true);
    });

    it('keeps the values given, and takes undefined as the default', () => {
      const options = resolveHostOptions({ subjectPrefix: 'acme.prod', hostId: 'host_1-a', heartbeatMs: 250, maxStreamWindow: 65_536 });
      expect(options).toMatchObject({ subjectPrefix: 'acme.prod', hostId: 'host_1-a', heartbeatMs: 250, maxStreamWindow: 65_536 });
      expect(resolveHostOptions({ heartbeatMs: undefined }).heartbeatMs).toBe(1000);
    });

    it('names every bad field at once', () => {
      const error = configError(() => resolveHostOptions({ subjectPrefix: 'a..b', hostId: 'has space', heartbeatMs: 0, maxStreamWindow: 65_537 }));
      expect(error.problems).toEqual([
        expect.stringContaining('subjectPrefix must be dot-separated tokens'),
        expect.stringContaining('hostId must be 1–64 letters'),
        'heartbeatMs must be an integer from 1 to 3600000 (got 0)',
        'maxStreamWindow must be an integer from 1 to 65536 (got 65537)',
      ]);
      expect(error.message).toContain('SnakepitHostModule.forRoot()');
      expect(error.code).toBe('config_invalid');
    });

    it('refuses host ids that are not one subject token', () => {
      for (const hostId of ['', 'a.b', 'a*', '>', 'x'.repeat(65), 5]) {
        expect(configError(() => resolveHostOptions({ hostId } as unknown as SnakepitHostOptions)).problems).toEqual([expect.stringContaining('hostId must be')]);
      }
    });

    it('refuses unknown keys', () => {
      const error = configError(() => resolveHostOptions({ heartbeat: 5, hostID: 'x' } as unknown as SnakepitHostOptions));
      expect(error.problems).toEqual([expect.stringMatching(/^heartbeat is not an option \(known: .*heartbeatMs/), expect.stringMatching(/^hostID is not an option/)]);
    });

    it('refuses options that are not an object', () => {
      for (const given of [null, 'snakepit', 3]) {
        expect(configError(() => resolveHostOptions(given as unknown as SnakepitHostOptions)).problems).toEqual(['the options must be an object']);
      }
    });
  });

  describe('resolveRemoteOptions', () => {
    const defaults = {
      subjectPrefix: 'snakepit',
      timeoutMs: 30_000,
      queueTimeoutMs: 10_000,
      maxQueued: 1000,
      hostLostAfterMs: 3000,
      rollCallIntervalMs: 1000,
      rollCallWindowMs: 250,
      rollCallMisses: 3,
      streamWindow: 32,
      maxRetries: 2,
    };

    it('fills in the defaults', () => {
      expect(resolveRemoteOptions()).toMatchObject(defaults);
      expect(resolveRemoteOptions({})).toMatchObject(defaults);
    });

    it('keeps the values given', () => {
      const given: RemotePoolOptions = { subjectPrefix: 'x', timeoutMs: 5, queueTimeoutMs: 4, maxQueued: 1, hostLostAfterMs: 10, rollCallIntervalMs: 100, rollCallWindowMs: 99, rollCallMisses: 1000, streamWindow: 1, maxRetries: 0 };
      expect(resolveRemoteOptions(given)).toMatchObject(given);
      expect(resolveRemoteOptions({ maxRetries: 100 }).maxRetries).toBe(100);
    });

    it('names every bad field at once', () => {
      const error = configError(() =>
        resolveRemoteOptions({
          subjectPrefix: '',
          timeoutMs: 0,
          queueTimeoutMs: 1.5,
          maxQueued: -1,
          hostLostAfterMs: '3000',
          rollCallIntervalMs: NaN,
          rollCallWindowMs: null,
          rollCallMisses: 1001,
          streamWindow: 65_537,
          maxRetries: 101,
        } as unknown as RemotePoolOptions),
      );
      expect(error.problems).toEqual([
        expect.stringContaining('subjectPrefix must be'),
        'timeoutMs must be an integer from 1 to 2147483647 (got 0)',
        'queueTimeoutMs must be an integer from 1 to 2147483647 (got 1.5)',
        'maxQueued must be an integer from 1 to 9007199254740991 (got -1)',
        'hostLostAfterMs must be an integer from 1 to 2147483647 (got "3000")',
        'rollCallIntervalMs must be an integer from 1 to 2147483647 (got null)',
        'rollCallWindowMs must be an integer from 1 to 2147483647 (got null)',
        'rollCallMisses must be an integer from 1 to 1000 (got 1001)',
        'streamWindow must be an integer from 1 to 65536 (got 65537)',
        'maxRetries must be an integer from 0 to 100 (got 101)',
      ]);
      expect(error.message).toContain('SnakepitRemoteModule.forRoot()/forRootAsync()');
      expect(error.message).toContain('10 problems');
    });

    it('names unknown keys beside bad values', () => {
      const error = configError(() => resolveRemoteOptions({ timeout: 5, maxQueued: 0 } as unknown as RemotePoolOptions));
      expect(error.problems).toEqual([expect.stringMatching(/^timeout is not an option \(known: subjectPrefix, timeoutMs, /), 'maxQueued must be an integer from 1 to 9007199254740991 (got 0)']);
    });

    it('refuses keys named like members of Object.prototype', () => {
      for (const key of ['constructor', 'toString', 'hasOwnProperty', 'valueOf', '__proto__']) {
        const given = JSON.parse(`{"${key}": 1}`) as RemotePoolOptions;
        expect(configError(() => resolveRemoteOptions(given)).problems).toEqual([expect.stringMatching(new RegExp(`^${key} is not an option`))]);
        expect(configError(() => resolveHostOptions(given as SnakepitHostOptions)).problems).toEqual([expect.stringMatching(new RegExp(`^${key} is not an option`))]);
      }
    });

    it('refuses times longer than a Node timer can hold (they would fire at once)', () => {
      const max = 2 ** 31 - 1;
      const error = configError(() => resolveRemoteOptions({ timeoutMs: max + 1, queueTimeoutMs: max + 1, hostLostAfterMs: max + 1, rollCallIntervalMs: max + 1 }));
      expect(error.problems).toEqual(['timeoutMs', 'queueTimeoutMs', 'hostLostAfterMs', 'rollCallIntervalMs'].map((name) => `${name} must be an integer from 1 to ${max} (got ${max + 1})`));
      expect(resolveRemoteOptions({ timeoutMs: max, queueTimeoutMs: max, hostLostAfterMs: max, rollCallIntervalMs: max, rollCallWindowMs: max - 1 })).toMatchObject({ timeoutMs: max, rollCallWindowMs: max - 1 });
      expect(configError(() => resolveHostOptions({ creditTimeoutMs: max + 1 } as SnakepitHostOptions)).problems).toEqual([`creditTimeoutMs must be an integer from 1 to ${max} (got ${max + 1})`]);
      // Counts and sizes are no timers.
      expect(resolveRemoteOptions({ maxQueued: max + 1 }).maxQueued).toBe(max + 1);
    });

    it('refuses a roll-call window as long as the interval or longer', () => {
      for (const rollCallWindowMs of [1000, 1500]) {
        const error = configError(() => resolveRemoteOptions({ rollCallWindowMs }));
        expect(error.problems).toEqual([`rollCallWindowMs (${rollCallWindowMs}) must be below rollCallIntervalMs (1000)`]);
      }
      expect(configError(() => resolveRemoteOptions({ rollCallIntervalMs: 200 })).problems).toEqual(['rollCallWindowMs (250) must be below rollCallIntervalMs (200)']);
      expect(resolveRemoteOptions({ rollCallIntervalMs: 251 }).rollCallIntervalMs).toBe(251);
      expect(resolveRemoteOptions({ rollCallIntervalMs: 100, rollCallWindowMs: 50 })).toMatchObject({ rollCallIntervalMs: 100, rollCallWindowMs: 50 });
    });

    it('refuses options that are not an object', () => {
      expect(configError(() => resolveRemoteOptions(null as unknown as RemotePoolOptions)).problems).toEqual(['the options must be an object']);
    });

    it('does not change the object given', () => {
      const given = { timeoutMs: 7 };
      const options = resolveRemoteOptions(given);
      expect(given).toEqual({ timeoutMs: 7 });
      expect(options).not.toBe(given);
    });
  });
});
