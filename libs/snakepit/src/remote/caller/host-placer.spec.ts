import { NoHostAvailableError, PoolClosedError, PoolSaturatedError, RequestAbortedError } from '../../errors';
import type { RemotePoolOptions } from '../remote-options';
import { announcement, directoryWith, flush, load, rollCall, track } from '../../../test-support/fake-remote-client';
import { HostPlacer } from './host-placer';

const NONE: ReadonlySet<string> = new Set();

describe('HostPlacer', () => {
  let placers: HostPlacer[] = [];
  beforeEach(() => jest.useFakeTimers({ now: 1_800_000_000_000 }));
  afterEach(() => {
    for (const placer of placers) placer.close();
    placers = [];
    jest.useRealTimers();
  });

  /** A placer over a directory that knows `hosts`. */
  async function setup(hosts: ReturnType<typeof announcement>[], given: RemotePoolOptions = {}) {
    const { client, directory, options } = directoryWith(given);
    client.hosts = hosts;
    await rollCall(directory, options);
    const placer = new HostPlacer(directory, options);
    placers.push(placer);
    const deadline = (ms = 10_000) => Date.now() + ms;
    return { client, directory, options, placer, deadline };
  }

  it('places a call at once on the host with room, and counts it there', async () => {
    const { directory, placer, deadline } = await setup([announcement('host-a', { default: load(1) }), announcement('host-b', { default: load(3) })]);
    await expect(placer.place(undefined, NONE, deadline(), undefined, 'add')).resolves.toBe('host-b');
    expect(directory.hosts().find((h) => h.hostId === 'host-b')?.inFlight).toBe(1);
    expect(placer.queued).toBe(0);
  });

  it('does not place on a host excluded (one lost during this call)', async () => {
    const { placer, deadline } = await setup([announcement('host-a', { default: load(1) }), announcement('host-b', { default: load(3) })]);
    await expect(placer.place(undefined, new Set(['host-b']), deadline(), undefined, 'add')).resolves.toBe('host-a');
  });

  it('queues calls in order while no host has room, and serves them as capacity frees', async () => {
    const { directory, placer, deadline } = await setup([announcement('host-a', { default: load(1, 1) })]);
    const calls = [1, 2, 3].map(() => track(placer.place(undefined, NONE, deadline(), undefined, 'add')));
    await flush();
    expect(calls.map((c) => c.state)).toEqual(['pending', 'pending', 'pending']);
    expect(placer.queued).toBe(3);
    // The host's answer to another call: its call ended, one slot is free.
    directory.noteLoad('host-a', { default: load(1, 0) });
    await flush();
    expect(calls.map((c) => c.state)).toEqual(['resolved', 'pending', 'pending']);
    expect(calls[0].value).toBe('host-a');
    expect(placer.queued).toBe(2);
    // Our call there ends: the next in line gets the slot.
    directory.end('host-a', undefined);
    await flush();
    expect(calls.map((c) => c.state)).toEqual(['resolved', 'resolved', 'pending']);
    directory.end('host-a', undefined);
    await flush();
    expect(calls.map((c) => c.state)).toEqual(['resolved', 'resolved', 'resolved']);
    expect(placer.queued).toBe(0);
  });

  it('keeps a new call behind the calls waiting, even when a host has room', async () => {
    const { directory, placer, deadline } = await setup([announcement('host-a', { default: load(1, 1) })]);
    const first = track(placer.place(undefined, NONE, deadline(), undefined, 'add'));
    await flush();
    // Room appears without a change notice; the new call does not take it before the first.
    (directory as unknown as { known: Map<string, { announcement: { pools: unknown } }> }).known.get('host-a')!.announcement.pools = { default: load(1, 0) };
    const second = track(placer.place(undefined, NONE, deadline(), undefined, 'add'));
    await flush();
    expect(first).toEqual({ state: 'resolved', value: 'host-a' });
    expect(second.state).toBe('pending');
  });

  it('puts a call a host refused back at the head of the line', async () => {
    const { directory, placer, deadline } = await setup([announcement('host-a', { default: load(1, 1) })]);
    const waiting = track(placer.place(undefined, NONE, deadline(), undefined, 'add'));
    const refused = track(placer.place(undefined, NONE, deadline(), undefined, 'add', true));
    await flush();
    directory.noteLoad('host-a', { default: load(1, 0) });
    await flush();
    expect(refused.state).toBe('resolved');
    expect(waiting.state).toBe('pending');
  });

  it('lets a later call take a host an earlier one excludes', async () => {
    const { directory, placer, deadline } = await setup([announcement('host-a', { default: load(1, 1) })]);
    const excluding = track(placer.place(undefined, new Set(['host-a']), deadline(), undefined, 'add'));
    const later = track(placer.place(undefined, NONE, deadline(), undefined, 'add'));
    await flush();
    directory.noteLoad('host-a', { default: load(1, 0) });
    await flush();
    expect(excluding.state).toBe('pending');
    expect(later).toEqual({ state: 'resolved', value: 'host-a' });
  });

  it('serves the calls of another pool while one pool is full', async () => {
    const { directory, placer, deadline } = await setup([announcement('host-a', { default: load(1, 1), gpu: load(1, 1) })]);
    const cpu = track(placer.place(undefined, NONE, deadline(), undefined, 'add'));
    const gpu = track(placer.place('gpu', NONE, deadline(), undefined, 'train'));
    await flush();
    directory.noteLoad('host-a', { default: load(1, 1), gpu: load(1, 0) });
    await flush();
    expect(cpu.state).toBe('pending');
    expect(gpu).toEqual({ state: 'resolved', value: 'host-a' });
  });

  it('gives a host found by a roll call to the calls waiting', async () => {
    const { client, directory, options, placer, deadline } = await setup([]);
    const call = track(placer.place(undefined, NONE, deadline(), undefined, 'add'));
    await rollCall(directory, options); // the one the call asked for: nobody answers yet
    expect(call.state).toBe('pending');
    client.hosts = [announcement('host-new', { default: load(2) })];
    await rollCall(directory, options);
    expect(call).toEqual({ state: 'resolved', value: 'host-new' });
  });

  it('asks for a roll call when no known host serves the pool', async () => {
    const { client, placer, deadline } = await setup([announcement('host-a', { default: load(1) })]);
    const before = client.rollCalls();
    void placer.place('gpu', NONE, deadline(1000), undefined, 'train').catch(() => undefined);
    await flush();
    expect(client.rollCalls()).toBe(before + 1);
  });

  it('refuses a call past maxQueued waiting with PoolSaturatedError', async () => {
    const { placer, deadline } = await setup([announcement('host-a', { default: load(1, 1) })], { maxQueued: 2 });
    const waiting = [track(placer.place('default', NONE, deadline(), undefined, 'add')), track(placer.place('default', NONE, deadline(), undefined, 'add'))];
    const third = placer.place('default', NONE, deadline(), undefined, 'add');
    await expect(third).rejects.toBeInstanceOf(PoolSaturatedError);
    await expect(third).rejects.toMatchObject({ code: 'pool_saturated', pool: 'default', maxQueueSize: 2 });
    expect(waiting.map((w) => w.state)).toEqual(['pending', 'pending']);
    expect(placer.queued).toBe(2);
  });

  it("fails with NoHostAvailableError 'no_hosts' at the queue deadline when no host serves the pool", async () => {
    const { placer, deadline } = await setup([]);
    const call = track(placer.place('gpu', NONE, deadline(2000), undefined, 'train'));
    await jest.advanceTimersByTimeAsync(1999);
    expect(call.state).toBe('pending');
    await jest.advanceTimersByTimeAsync(1);
    expect(call.state).toBe('rejected');
    expect(call.error).toBeInstanceOf(NoHostAvailableError);
    expect(call.error).toMatchObject({ code: 'no_host_available', pool: 'gpu', reason: 'no_hosts', waitedMs: 2000 });
    expect(placer.queued).toBe(0);
  });

  it("fails with NoHostAvailableError 'all_busy' at the queue deadline when the hosts serving the pool have no room", async () => {
    // Busy in a way the head of the line's probe cannot use: not ready yet, or lost during this call.
    const { placer, deadline } = await setup([announcement('host-a', { default: load(4, 0, 0, 'starting') }), announcement('host-b', { default: load(4) })]);
    const call = track(placer.place(undefined, new Set(['host-b']), deadline(1500), undefined, 'add'));
    await jest.advanceTimersByTimeAsync(1500);
    expect(call.state).toBe('rejected');
    expect(call.error).toBeInstanceOf(NoHostAvailableError);
    expect(call.error).toMatchObject({ reason: 'all_busy', pool: 'default', waitedMs: 1500 });
  });

  it("fails with NoHostAvailableError 'broker_down' when the last roll call could not reach the broker", async () => {
    const { client, directory, options, placer, deadline } = await setup([]);
    client.connectError = new Error('ECONNREFUSED');
    await rollCall(directory, options);
    const call = track(placer.place(undefined, NONE, deadline(300), undefined, 'add'));
    await jest.advanceTimersByTimeAsync(300);
    expect(call.error).toMatchObject({ reason: 'broker_down' });
  });

  it('fails at once when the queue deadline has passed already', async () => {
    const { placer } = await setup([]);
    const call = track(placer.place(undefined, NONE, Date.now() - 5, undefined, 'add'));
    await flush();
    expect(call.error).toBeInstanceOf(NoHostAvailableError);
  });

  it('has the head of the line ask the least busy host every 50 ms (its answer tells the real load)', async () => {
    const { placer, deadline } = await setup([announcement('host-a', { default: load(2, 4) }), announcement('host-b', { default: load(2, 3) })]);
    const first = track(placer.place(undefined, NONE, deadline(), undefined, 'add'));
    const second = track(placer.place(undefined, NONE, deadline(), undefined, 'add'));
    await jest.advanceTimersByTimeAsync(49);
    expect(first.state).toBe('pending');
    await jest.advanceTimersByTimeAsync(1);
    expect(first).toEqual({ state: 'resolved', value: 'host-b' });
    expect(second.state).toBe('pending');
    await jest.advanceTimersByTimeAsync(50);
    expect(second.state).toBe('resolved');
  });

  it('fails a waiting call with RequestAbortedError when its signal aborts', async () => {
    const { directory, placer, deadline } = await setup([announcement('host-a', { default: load(1, 1) })]);
    const controller = new AbortController();
    const aborted = track(placer.place(undefined, NONE, deadline(), controller.signal, 'add'));
    const other = track(placer.place(undefined, NONE, deadline(), undefined, 'add'));
    await flush();
    controller.abort(new Error('client went away'));
    await flush();
    expect(aborted.state).toBe('rejected');
    expect(aborted.error).toBeInstanceOf(RequestAbortedError);
    expect(aborted.error).toMatchObject({ code: 'request_aborted', tool: 'add' });
    expect(placer.queued).toBe(1);
    // The aborted call took no slot: the next one gets it.
    directory.noteLoad('host-a', { default: load(1, 0) });
    await flush();
    expect(other).toEqual({ state: 'resolved', value: 'host-a' });
    expect(directory.hosts()[0].inFlight).toBe(1);
  });

  it('fails a call whose signal aborted before it came, rather than keep it waiting', async () => {
    const { placer, deadline } = await setup([announcement('host-a', { default: load(1, 1) })]);
    const controller = new AbortController();
    controller.abort();
    const call = track(placer.place(undefined, NONE, deadline(), controller.signal, 'add'));
    await flush();
    expect(call.state).toBe('rejected');
    expect(call.error).toBeInstanceOf(RequestAbortedError);
    expect(placer.queued).toBe(0);
  });

  it('fails a call whose signal aborted already even when a host has room, and counts nothing', async () => {
    const { directory, placer, deadline } = await setup([announcement('host-a', { default: load(1) })]);
    await expect(placer.place(undefined, NONE, deadline(), AbortSignal.abort(), 'add')).rejects.toBeInstanceOf(RequestAbortedError);
    expect(directory.hosts()[0].inFlight).toBe(0);
  });

  it('fails the calls waiting, and new ones, with PoolClosedError on close()', async () => {
    const { placer, deadline } = await setup([announcement('host-a', { default: load(1, 1) })]);
    const waiting = track(placer.place('default', NONE, deadline(), undefined, 'add'));
    await flush();
    placer.close();
    await flush();
    expect(waiting.error).toBeInstanceOf(PoolClosedError);
    await expect(placer.place('default', NONE, deadline(), undefined, 'add')).rejects.toBeInstanceOf(PoolClosedError);
    expect(placer.queued).toBe(0);
  });

  it('leaves no timer behind once nothing waits', async () => {
    const { directory, placer, deadline } = await setup([announcement('host-a', { default: load(1, 1) })]);
    const call = track(placer.place(undefined, NONE, deadline(), undefined, 'add'));
    directory.noteLoad('host-a', { default: load(1, 0) });
    await flush();
    expect(call.state).toBe('resolved');
    await jest.advanceTimersByTimeAsync(100); // the probe sees nobody waiting and stops
    expect(jest.getTimerCount()).toBe(0);
  });
});
