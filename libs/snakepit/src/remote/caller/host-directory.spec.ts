import { announcement, directoryWith, EmptyResponseException, flush, load, rollCall, track } from '../../../test-support/fake-remote-client';

describe('HostDirectory', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_800_000_000_000 }));
  afterEach(() => jest.useRealTimers());

  describe('roll calls', () => {
    it('learns the hosts that answer, with their load', async () => {
      const { client, directory, options } = directoryWith();
      client.hosts = [announcement('host-a', { default: load(4) }), announcement('host-b', { default: load(2, 1), gpu: load(1) })];
      expect(directory.hosts()).toEqual([]);
      await rollCall(directory, options);
      expect(client.requests[0]).toEqual({ subject: 'snakepit.roll-call', body: { v: 1 } });
      expect(directory.has('host-a')).toBe(true);
      expect(directory.has('host-b')).toBe(true);
      expect(directory.serves('gpu')).toBe(true);
      expect(directory.serves(undefined)).toBe(true);
      expect(directory.serves('other')).toBe(false);
      const b = directory.hosts().find((h) => h.hostId === 'host-b');
      expect(b).toEqual({
        hostId: 'host-b',
        startedAt: new Date(1_700_000_000_000).toISOString(),
        lastSeenAt: new Date(1_800_000_000_000).toISOString(),
        defaultPool: 'default',
        pools: { default: load(2, 1), gpu: load(1) },
        inFlight: 0,
      });
    });

    it('ignores answers that are not announcements, and a second answer of one host', async () => {
      const { client, directory, options } = directoryWith();
      client.hosts = [
        { hostId: 'bad.id', startedAt: 0, defaultPool: 'default', pools: {} },
        { hostId: 'no-pools', startedAt: 0, defaultPool: 'default' } as never,
        announcement('host-a', { default: load(1) }),
        announcement('host-a', { default: load(9) }),
      ];
      await rollCall(directory, options);
      expect(directory.hosts().map((h) => h.hostId)).toEqual(['host-a']);
      expect(directory.hosts()[0].pools.default.capacity).toBe(1);
    });

    it('runs one roll call at a time', async () => {
      const { client, directory, options } = directoryWith();
      const first = directory.rollCall();
      expect(directory.rollCall()).toBe(first);
      await jest.advanceTimersByTimeAsync(options.rollCallWindowMs);
      await first;
      expect(client.rollCalls()).toBe(1);
      await rollCall(directory, options);
      expect(client.rollCalls()).toBe(2);
    });

    it('rolls every rollCallIntervalMs once started, and not after stop()', async () => {
      const { client, directory, options } = directoryWith();
      directory.start();
      await flush();
      expect(client.rollCalls()).toBe(1);
      await jest.advanceTimersByTimeAsync(options.rollCallIntervalMs * 3);
      expect(client.rollCalls()).toBe(4);
      directory.stop();
      await jest.advanceTimersByTimeAsync(options.rollCallIntervalMs * 3);
      expect(client.rollCalls()).toBe(4);
    });

    it('drops a host after rollCallMisses missed roll calls in a row, and tells its calls', async () => {
      const { client, directory, options } = directoryWith({ rollCallMisses: 3 });
      client.hosts = [announcement('host-a', { default: load(1) }), announcement('host-b', { default: load(1) })];
      await rollCall(directory, options);
      const lost: string[] = [];
      const other: string[] = [];
      directory.onLost('host-a', (why) => lost.push(why));
      directory.onLost('host-a', (why) => lost.push(`second: ${why}`));
      directory.onLost('host-b', (why) => other.push(why));
      const changes = jest.fn();
      directory.onChange(changes);
      client.hosts = [client.hosts[1]];
      await rollCall(directory, options);
      await rollCall(directory, options);
      expect(directory.has('host-a')).toBe(true);
      expect(lost).toEqual([]);
      changes.mockClear();
      await rollCall(directory, options);
      expect(directory.has('host-a')).toBe(false);
      expect(lost).toEqual(['it missed 3 roll calls in a row', 'second: it missed 3 roll calls in a row']);
      expect(other).toEqual([]);
      expect(directory.has('host-b')).toBe(true);
      expect(changes).toHaveBeenCalled();
      // Back again: learned anew, without the listeners of before.
      client.hosts.push(announcement('host-a', { default: load(1) }));
      await rollCall(directory, options);
      expect(directory.has('host-a')).toBe(true);
      directory.drop('host-a', 'gone again');
      expect(lost).toHaveLength(2);
    });

    it('counts the misses in a row only: an answer in between starts again', async () => {
      const { client, directory, options } = directoryWith({ rollCallMisses: 2 });
      const a = announcement('host-a', { default: load(1) });
      client.hosts = [a];
      await rollCall(directory, options);
      client.hosts = [];
      await rollCall(directory, options);
      client.hosts = [a];
      await rollCall(directory, options);
      client.hosts = [];
      await rollCall(directory, options);
      expect(directory.has('host-a')).toBe(true);
      await rollCall(directory, options);
      expect(directory.has('host-a')).toBe(false);
    });

    it('takes a load note as a sign of life', async () => {
      const { client, directory, options } = directoryWith({ rollCallMisses: 2 });
      client.hosts = [announcement('host-a', { default: load(1) })];
      await rollCall(directory, options);
      client.hosts = [];
      await rollCall(directory, options);
      directory.noteLoad('host-a', { default: load(3, 1) });
      await rollCall(directory, options);
      expect(directory.has('host-a')).toBe(true);
      expect(directory.hosts()[0].pools.default).toEqual(load(3, 1));
      await rollCall(directory, options);
      expect(directory.has('host-a')).toBe(false);
    });

    it('counts misses when nobody at all answers (no responders)', async () => {
      const { client, directory, options } = directoryWith({ rollCallMisses: 1 });
      client.hosts = [announcement('host-a', { default: load(1) })];
      await rollCall(directory, options);
      client.rollCallError = new EmptyResponseException('no responders');
      await rollCall(directory, options);
      expect(directory.brokerReachable).toBe(true);
      expect(directory.has('host-a')).toBe(false);
    });

    it('drops nobody while the broker cannot be reached', async () => {
      const { client, directory, options } = directoryWith({ rollCallMisses: 1 });
      client.hosts = [announcement('host-a', { default: load(1) })];
      await rollCall(directory, options);
      client.connectError = new Error('ECONNREFUSED');
      await rollCall(directory, options);
      expect(directory.brokerReachable).toBe(false);
      expect(directory.has('host-a')).toBe(true);
      client.connectError = undefined;
      client.rollCallError = new Error('connection closed');
      await rollCall(directory, options);
      expect(directory.brokerReachable).toBe(false);
      expect(directory.has('host-a')).toBe(true);
      client.rollCallError = undefined;
      await rollCall(directory, options);
      expect(directory.brokerReachable).toBe(true);
      expect(directory.has('host-a')).toBe(true);
    });

    it('stops listening for a lost host when asked to', async () => {
      const { client, directory, options } = directoryWith();
      client.hosts = [announcement('host-a', { default: load(1) })];
      await rollCall(directory, options);
      const listener = jest.fn();
      const stop = directory.onLost('host-a', listener);
      stop();
      directory.drop('host-a', 'gone');
      expect(listener).not.toHaveBeenCalled();
      directory.drop('host-a', 'twice');
    });
  });

  describe('pick', () => {
    async function known(...hosts: ReturnType<typeof announcement>[]) {
      const setup = directoryWith();
      setup.client.hosts = hosts;
      await rollCall(setup.directory, setup.options);
      return setup.directory;
    }

    it('prefers free worker slots (capacity − inFlight), then room ahead (capacity + ahead − inFlight)', async () => {
      const directory = await known(
        announcement('host-a', { default: load(4, 3) }), // 1 slot free, room 1
        announcement('host-b', { default: load(2, 1, 2) }), // 1 slot free, room 3
        announcement('host-c', { default: load(2, 0) }), // 2 slots free, room 2
      );
      expect(directory.pick(undefined, new Set())).toBe('host-c'); // a call there starts at once
      expect(directory.pick('default', new Set())).toBe('host-c');
      expect(directory.pick(undefined, new Set(['host-c']))).toBe('host-b'); // a tie on slots: more room
    });

    it('sends a call ahead to a host whose workers are all busy only when no host has a free slot', async () => {
      const directory = await known(
        announcement('host-a', { default: load(1, 1, 1) }), // busy, takes one ahead
        announcement('host-b', { default: load(1, 0, 0) }), // a free slot
      );
      expect(directory.pick(undefined, new Set())).toBe('host-b');
      directory.begin('host-b', undefined);
      expect(directory.pick(undefined, new Set())).toBe('host-a'); // room ahead is room
      directory.begin('host-a', undefined);
      directory.begin('host-a', undefined);
      expect(directory.pick(undefined, new Set())).toBeUndefined();
    });

    it("counts this caller's calls when they are more than the host reported (max(inFlight, mine))", async () => {
      const directory = await known(announcement('host-a', { default: load(3, 1) }), announcement('host-b', { default: load(2, 0) }));
      const random = jest.spyOn(Math, 'random').mockReturnValue(0.9); // ties keep the first
      try {
        expect(directory.pick(undefined, new Set())).toBe('host-a'); // 2 free vs 2 free: the first
        directory.begin('host-a', undefined); // mine 1 ≤ inFlight 1: still 2 free
        expect(directory.pick(undefined, new Set())).toBe('host-a');
        directory.begin('host-a', undefined); // mine 2: 1 free
        expect(directory.pick(undefined, new Set())).toBe('host-b');
        directory.begin('host-b', undefined);
        directory.begin('host-b', undefined); // b: 0 free
        expect(directory.pick(undefined, new Set())).toBe('host-a');
        directory.begin('host-a', undefined); // a: 0 free
        expect(directory.pick(undefined, new Set())).toBeUndefined();
        expect(directory.hosts().map((h) => [h.hostId, h.inFlight])).toEqual([
          ['host-a', 3],
          ['host-b', 2],
        ]);
        directory.end('host-b', undefined);
        expect(directory.pick(undefined, new Set())).toBe('host-b');
      } finally {
        random.mockRestore();
      }
    });

    it('counts calls by pool', async () => {
      const directory = await known(announcement('host-a', { default: load(1), gpu: load(1) }));
      directory.begin('host-a', 'gpu');
      expect(directory.pick('gpu', new Set())).toBeUndefined();
      expect(directory.pick(undefined, new Set())).toBe('host-a');
      expect(directory.pick('default', new Set())).toBe('host-a');
    });

    it('counts a call sent without a pool under the default pool of its host', async () => {
      const directory = await known(announcement('host-a', { cpu: load(1), gpu: load(1) }, 'cpu'), announcement('host-b', { gpu: load(1) }, 'gpu'));
      directory.begin('host-a', undefined);
      expect(directory.pick('cpu', new Set())).toBeUndefined();
      expect(directory.pick('gpu', new Set(['host-b']))).toBe('host-a');
      directory.begin('host-b', 'gpu');
      expect(directory.pick(undefined, new Set(['host-a']))).toBeUndefined();
      directory.end('host-a', undefined);
      expect(directory.pick(undefined, new Set(['host-b']))).toBe('host-a');
      expect(directory.hosts().map((h) => h.inFlight)).toEqual([0, 1]);
    });

    it("uses each host's default pool when no pool is named", async () => {
      const directory = await known(announcement('host-a', { cpu: load(1, 1), gpu: load(5) }, 'cpu'), announcement('host-b', { gpu: load(1) }, 'gpu'));
      expect(directory.pick(undefined, new Set())).toBe('host-b');
      expect(directory.pick('gpu', new Set())).toBe('host-a');
      expect(directory.pick('cpu', new Set(), true)).toBe('host-a');
      expect(directory.pick('tpu', new Set(), true)).toBeUndefined();
    });

    it('skips pools that are not ready, and gives a busy host only when asked to', async () => {
      const directory = await known(
        announcement('host-a', { default: load(5, 0, 0, 'starting') }),
        announcement('host-b', { default: load(2, 4) }), // −2 free
        announcement('host-c', { default: load(2, 3) }), // −1 free
        announcement('host-d', { default: load(9, 0, 0, 'closing') }),
      );
      expect(directory.pick(undefined, new Set())).toBeUndefined();
      expect(directory.pick(undefined, new Set(), true)).toBe('host-c');
      expect(directory.pick(undefined, new Set(['host-c']), true)).toBe('host-b');
      expect(directory.pick(undefined, new Set(['host-b', 'host-c']), true)).toBeUndefined();
      expect(directory.serves(undefined)).toBe(true);
    });

    it('breaks ties at random', async () => {
      const directory = await known(announcement('host-a', { default: load(2) }), announcement('host-b', { default: load(2) }));
      const random = jest.spyOn(Math, 'random');
      try {
        random.mockReturnValue(0.9);
        expect(directory.pick(undefined, new Set())).toBe('host-a');
        random.mockReturnValue(0.1);
        expect(directory.pick(undefined, new Set())).toBe('host-b');
      } finally {
        random.mockRestore();
      }
    });
  });

  describe('begin, end and load notes', () => {
    it('counts calls begun and ended, never below zero, and tells of changes', async () => {
      const { client, directory, options } = directoryWith();
      client.hosts = [announcement('host-a', { default: load(2) })];
      await rollCall(directory, options);
      const changes = jest.fn();
      directory.onChange(changes);
      directory.begin('host-a', undefined);
      directory.begin('host-a', 'default');
      expect(directory.hosts()[0].inFlight).toBe(2);
      directory.end('host-a', undefined);
      expect(directory.hosts()[0].inFlight).toBe(1);
      expect(changes).toHaveBeenCalledTimes(1);
      directory.end('host-a', undefined);
      directory.end('host-a', 'default');
      expect(directory.hosts()[0].inFlight).toBe(0);
      directory.begin('nobody', undefined);
      directory.end('nobody', undefined);
      expect(directory.hosts()).toHaveLength(1);
    });

    it("keeps the pools' load from every answer of a known host, and ignores others", async () => {
      const { client, directory, options } = directoryWith();
      client.hosts = [announcement('host-a', { default: load(1, 1) })];
      await rollCall(directory, options);
      expect(directory.pick(undefined, new Set())).toBeUndefined();
      const changes = jest.fn();
      directory.onChange(changes);
      jest.setSystemTime(1_800_000_005_000);
      directory.noteLoad('host-a', { default: load(1, 0) });
      expect(changes).toHaveBeenCalledTimes(1);
      expect(directory.pick(undefined, new Set())).toBe('host-a');
      expect(directory.hosts()[0].lastSeenAt).toBe(new Date(1_800_000_005_000).toISOString());
      directory.noteLoad('host-a', undefined);
      directory.noteLoad('stranger', { default: load(9) });
      expect(directory.has('stranger')).toBe(false);
      expect(changes).toHaveBeenCalledTimes(1);
    });

    it('stops telling a change listener that stopped listening', () => {
      const { directory } = directoryWith();
      const listener = jest.fn();
      const stop = directory.onChange(listener);
      stop();
      directory.end('host-a', undefined);
      expect(listener).not.toHaveBeenCalled();
    });
  });

  describe('probe', () => {
    it('is true when the host answers on its stats subject', async () => {
      const { client, directory, options } = directoryWith();
      client.hosts = [announcement('host-a', { default: load(1) })];
      await rollCall(directory, options);
      await expect(directory.probe('host-a')).resolves.toBe(true);
      expect(client.requests.at(-1)).toEqual({ subject: 'snakepit.host.host-a.stats', body: { v: 1 } });
      expect(directory.has('host-a')).toBe(true);
    });

    it('drops the host when nobody listens for it', async () => {
      const { client, directory, options } = directoryWith();
      client.hosts = [announcement('host-a', { default: load(1) })];
      await rollCall(directory, options);
      const lost = jest.fn();
      directory.onLost('host-a', lost);
      client.probeAnswer = () => 'gone';
      await expect(directory.probe('host-a')).resolves.toBe(false);
      expect(directory.has('host-a')).toBe(false);
      expect(lost).toHaveBeenCalledWith('its connection to the broker is gone');
    });

    it('drops a host silent for hostLostAfterMs, with one probe at a time', async () => {
      const { client, directory, options } = directoryWith({ hostLostAfterMs: 500 });
      client.hosts = [announcement('host-a', { default: load(1) })];
      await rollCall(directory, options);
      client.probeAnswer = () => 'silent';
      const first = track(directory.probe('host-a'));
      const second = track(directory.probe('host-a'));
      await jest.advanceTimersByTimeAsync(499);
      expect(first.state).toBe('pending');
      expect(client.requests.filter((r) => r.subject.endsWith('.stats'))).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(1);
      expect(first).toEqual({ state: 'resolved', value: false });
      expect(second).toEqual({ state: 'resolved', value: false });
      expect(directory.has('host-a')).toBe(false);
    });

    it('is true while the broker cannot be reached (who is gone cannot be told)', async () => {
      const { client, directory, options } = directoryWith();
      client.hosts = [announcement('host-a', { default: load(1) })];
      await rollCall(directory, options);
      client.connectError = new Error('down');
      await expect(directory.probe('host-a')).resolves.toBe(true);
      expect(directory.has('host-a')).toBe(true);
    });
  });

  describe('nobody listens (no responders)', () => {
    it('drops the host and tells its calls', async () => {
      const { client, directory, options } = directoryWith({ hostLostAfterMs: 500 });
      client.hosts = [announcement('host-a', { default: load(1) })];
      await rollCall(directory, options);
      const lost = jest.fn();
      directory.onLost('host-a', lost);
      await expect(directory.nobodyListens('host-a', 'gone')).resolves.toBe(true);
      expect(directory.has('host-a')).toBe(false);
      expect(lost).toHaveBeenCalledWith('gone');
    });

    /** The fake client as a real one says its connection: made at `at`, up or not. */
    const connection = (client: object, at: number, up = true) => Object.assign(client, { connectedAt: at, connected: up });

    it('drops the host 100 ms later, when this caller stays connected', async () => {
      const { client, directory, options } = directoryWith({ hostLostAfterMs: 500 });
      connection(client, Date.now());
      client.hosts = [announcement('host-a', { default: load(1) })];
      await rollCall(directory, options);
      const dropped = track(directory.nobodyListens('host-a', 'gone'));
      await jest.advanceTimersByTimeAsync(99);
      expect(directory.has('host-a')).toBe(true);
      await jest.advanceTimersByTimeAsync(1);
      expect(dropped).toEqual({ state: 'resolved', value: true });
      expect(directory.has('host-a')).toBe(false);
    });

    it('keeps the host when this caller loses its connection too within 100 ms (the broker going down)', async () => {
      const { client, directory, options } = directoryWith({ hostLostAfterMs: 500 });
      connection(client, Date.now());
      client.hosts = [announcement('host-a', { default: load(1) })];
      await rollCall(directory, options);
      const dropped = track(directory.nobodyListens('host-a', 'gone'));
      await jest.advanceTimersByTimeAsync(30);
      connection(client, (client as { connectedAt?: number }).connectedAt!, false);
      await jest.advanceTimersByTimeAsync(70);
      expect(dropped).toEqual({ state: 'resolved', value: false });
      expect(directory.has('host-a')).toBe(true);
    });

    it('keeps a host not heard from since the caller reconnected, for hostLostAfterMs after it (it may be subscribing again)', async () => {
      const { client, directory, options } = directoryWith({ hostLostAfterMs: 500 });
      client.hosts = [announcement('host-a', { default: load(1) }), announcement('host-b', { default: load(1) })];
      await rollCall(directory, options);
      await jest.advanceTimersByTimeAsync(10);
      connection(client, Date.now()); // the broker came back
      const lost = jest.fn();
      directory.onLost('host-a', lost);
      await expect(directory.nobodyListens('host-a', 'gone')).resolves.toBe(false);
      client.probeAnswer = (hostId) => (hostId === 'host-a' ? 'gone' : 'answer');
      await expect(directory.probe('host-a')).resolves.toBe(true);
      expect(directory.has('host-a')).toBe(true);
      expect(lost).not.toHaveBeenCalled();
      // host-b answers a roll call since: nobody listening for it now means it is gone.
      client.hosts = [announcement('host-b', { default: load(1) })];
      await rollCall(directory, options);
      const b = track(directory.nobodyListens('host-b', 'gone'));
      await jest.advanceTimersByTimeAsync(100);
      expect(b).toEqual({ state: 'resolved', value: true });
      // Past hostLostAfterMs after the reconnection, host-a is gone too.
      await jest.advanceTimersByTimeAsync(400);
      const a = track(directory.nobodyListens('host-a', 'gone'));
      await jest.advanceTimersByTimeAsync(100);
      expect(a).toEqual({ state: 'resolved', value: true });
      expect(lost).toHaveBeenCalledWith('gone');
    });
  });
});
