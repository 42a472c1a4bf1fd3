/**
 * Remote pools end to end, with real parts only: a nats-server, a redis-server, hosts that are
 * the sample app in processes of their own (NATS_URL, REDIS_URL, SNAKEPIT_HOST_ID), and callers
 * (SnakepitRemoteModule) in this process or in the remote-mode sample app (SNAKEPIT_REMOTE=1).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { Transport } from '@nestjs/microservices';
import { HealthIndicatorService } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { context, SpanKind, trace, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { take } from 'rxjs';
import {
  NdArray,
  ndarray,
  NoHostAvailableError,
  PayloadTooLargeError,
  PoolSaturatedError,
  PythonTypeError,
  PythonValueError,
  RedisSessionStore,
  RequestAbortedError,
  RequestTimeoutError,
  SerializationError,
  SessionExistsError,
  SessionNotFoundError,
  SnakepitConfigError,
  SnakepitEvent,
  SnakepitEvents,
  SnakepitModule,
  ToolArgumentsError,
  ToolKindError,
  UnknownToolError,
  type StreamChunk,
} from '@snakepit/nestjs';
import { RemotePoolHealthIndicator } from '@snakepit/nestjs/health';
import { SESSION_OWNER_STATE_KEY, SnakepitHostModule, SnakepitRemoteModule } from '@snakepit/nestjs/remote';
import type { RemoteChunkStream } from '../libs/snakepit/src/remote/caller/remote-chunk-stream';
import { rejectionOf, SHOWCASE, silentLogger } from './support/app';
import { runTypeScript, type RunningChild } from './support/child-process';
import { natsAvailable, startNats, type NatsUnderTest } from './support/nats';
import { eventually, isAlive } from './support/processes';
import { startRedis, type RedisUnderTest } from './support/redis';
import { seesHosts, startRemoteCaller, startRemoteHost, type RemoteCaller, type RemoteHost } from './support/remote';

const hasRedis = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
if (!hasRedis && process.env.CI) throw new Error('no redis-server on PATH, though CI runs make setup, which installs it');
const runs = natsAvailable() && hasRedis;
if (!runs) console.warn('[test] no nats-server or redis-server: the remote-pool tests are skipped');

/** The hosts' adapter: the showcase's tools and `tally`, a stream that writes how far it got. */
const HOST_ENV = { SNAKEPIT_ADAPTER: 'remote_tally:TallyAdapter', SNAKEPIT_PYTHON_PATH: 'test/fixtures/python' };
const STREAM_WINDOW = 4;

async function collect<T>(stream: AsyncIterable<StreamChunk<T>>): Promise<StreamChunk<T>[]> {
  const chunks: StreamChunk<T>[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

async function getJson(url: string): Promise<any> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${await response.text()}`);
  return response.json();
}

async function postJson(url: string, body: unknown = {}): Promise<{ status: number; body: any }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

/** The host's default pool's stats, from its own HTTP route. */
async function poolStats(host: RemoteHost): Promise<{ requests: number; succeeded: number; errors: number; busy: number; cancelled: number; aborted: number }> {
  const [stats] = await getJson(`${host.url}/pool/stats`);
  return stats;
}

/** The pids of a host's workers, from its own HTTP route. */
async function workerPids(host: RemoteHost): Promise<number[]> {
  return (await getJson(`${host.url}/pool/workers`)).map((worker: { pid: number }) => worker.pid);
}

(runs ? describe : describe.skip)('remote pools over a real NATS', () => {
  let nats: NatsUnderTest;
  let redis: RedisUnderTest;
  let hosts: RemoteHost[] = [];
  let caller: RemoteCaller;
  let a: RemoteHost;
  let b: RemoteHost;
  /** Each host's worker pids, by host id (asked again when a pid is not known: a worker may
   *  have been replaced). */
  const workers = new Map<string, number[]>();
  const hostOfPid = async (pid: number) => {
    const known = () => [...workers].find(([, pids]) => pids.includes(pid))?.[0];
    if (known() === undefined) for (const host of hosts) if (host.process.child.exitCode === null && host.process.child.signalCode === null) workers.set(host.hostId, await workerPids(host));
    return known();
  };
  const dir = mkdtempSync(join(tmpdir(), 'snakepit-remote-'));
  /** The host this caller has a call running on now (its only one). */
  const runningOn = () => hosts.find((h) => caller.remote.hosts().find((v) => v.hostId === h.hostId)?.inFlight === 1);
  /** Whether the call given `token` was seen to stop in Python (on any live host). */
  const finalizedSomewhere = async (token: string) => {
    for (const host of hosts) if (host.process.child.exitCode === null && (await postJson(`${host.url}/execute/finalized`, { token })).body.result === true) return true;
    return false;
  };
  const allIdle = async () => (await Promise.all(hosts.map(poolStats))).every((s) => s.busy === 0);
  /** The caller's view of a host (its load as last heard: answers and roll calls, 1 s apart). */
  const view = (host: RemoteHost) => caller.remote.hosts().find((v) => v.hostId === host.hostId);
  /** Waits until the caller has heard that no host runs anything (placement goes by that). */
  const callerSeesIdle = () => eventually(() => caller.remote.hosts().every((h) => h.inFlight === 0 && h.pools.default?.inFlight === 0), 10_000, 'the caller to hear the hosts are idle');
  /** The cancelled, aborted and failed calls of the live hosts, added up. */
  const endings = async () => {
    const stats = await Promise.all(hosts.filter((h) => h.process.child.exitCode === null && h.process.child.signalCode === null).map(poolStats));
    return [stats.reduce((n, s) => n + s.cancelled, 0), stats.reduce((n, s) => n + s.aborted, 0), stats.reduce((n, s) => n + s.errors, 0)];
  };
  const minus = (after: number[], before: number[]) => after.map((n, i) => n - before[i]);

  beforeAll(async () => {
    [nats, redis] = await Promise.all([startNats(), startRedis()]);
    const redisUrl = `redis://127.0.0.1:${redis.port}`;
    const started = await Promise.allSettled(['host-a', 'host-b'].map((hostId) => startRemoteHost({ natsUrl: nats.url, hostId, poolSize: 1, redisUrl, env: HOST_ENV })));
    hosts = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])); // afterAll stops them, whatever happens
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    [a, b] = hosts;
    for (const host of hosts) workers.set(host.hostId, await workerPids(host));
    caller = await startRemoteCaller(nats.url, { streamWindow: STREAM_WINDOW });
    await seesHosts(caller.remote, ['host-a', 'host-b']);
  }, 90_000);

  afterAll(async () => {
    await caller?.close();
    await Promise.all(hosts.map((host) => host.stop()));
    // Nothing of the hosts is left: every worker they had (the killed one's too) has exited.
    const pids = [...workers.values()].flat();
    await eventually(() => pids.every((pid) => !isAlive(pid)), 15_000, 'the hosts\' workers to exit');
    await redis?.close();
    await nats?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  describe('calls', () => {
    it('returns the result of a remote call', async () => {
      await expect(caller.remote.execute('add', { a: 2, b: 3 })).resolves.toBe(5);
      const { pid } = await caller.remote.execute<{ pid: number }>('ping');
      expect(await hostOfPid(pid)).toMatch(/^host-[ab]$/);
    });

    it('rebuilds a Python ValueError as a PythonValueError, with its code, type and traceback', async () => {
      const error = await rejectionOf(caller.remote.execute('raise_error', { type: 'ValueError', message: 'bad value' }));
      expect(error).toBeInstanceOf(PythonValueError);
      expect(error.code).toBe('python_value_error');
      expect(error.pythonType).toBe('ValueError');
      expect(error.message).toContain('bad value');
      expect(error.traceback).toMatch(/Traceback[\s\S]*raise_error[\s\S]*ValueError: bad value/);
      expect(error.stack).toMatch(/at host host-[ab]/);
    });

    it('rebuilds an unknown tool as UnknownToolError', async () => {
      const error = await rejectionOf(caller.remote.execute('no_such_tool'));
      expect(error).toBeInstanceOf(UnknownToolError);
      expect(error.code).toBe('unknown_tool');
      expect(error.tool).toBe('no_such_tool');
      expect(error.available).toEqual(expect.arrayContaining(['add', 'count']));
    });

    it("rebuilds the host pool's ToolArgumentsError, with every problem, and Python never ran the call; validateArguments: false crosses too", async () => {
      const before = (await Promise.all(hosts.map(poolStats))).map((s) => s.requests);
      const error = await rejectionOf(caller.remote.execute('sleep', { ms: 'long', extra: 1 }));
      expect(error).toBeInstanceOf(ToolArgumentsError);
      expect(error).toMatchObject({ code: 'tool_arguments_invalid', tool: 'sleep', problems: [{ path: 'args', message: 'must not have the property "extra"' }, { path: 'args.ms', message: 'must be number' }] });
      await expect(collect(caller.remote.executeStream('count', { n: 'two' }))).rejects.toBeInstanceOf(ToolArgumentsError);
      expect((await Promise.all(hosts.map(poolStats))).map((s) => s.requests)).toEqual(before);
      await expect(caller.remote.execute('sleep', { ms: 'long' }, { validateArguments: false })).rejects.toBeInstanceOf(PythonTypeError);
    });

    it('refuses arguments that cannot be encoded with SerializationError, before sending anything', async () => {
      const before = (await Promise.all(hosts.map(poolStats))).map((s) => s.requests);
      const error = await rejectionOf(caller.remote.execute('echo', { params: { fn: () => 1 } }));
      expect(error).toBeInstanceOf(SerializationError);
      expect(error.direction).toBe('arguments');
      expect(error.path).toContain('fn');
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      await expect(caller.remote.execute('echo', { params: cyclic })).rejects.toBeInstanceOf(SerializationError);
      // A stream too: it fails at its first read, and nothing reached a host.
      await expect(collect(caller.remote.executeStream('count', { n: 1, x: Symbol('no') }))).rejects.toBeInstanceOf(SerializationError);
      expect((await Promise.all(hosts.map(poolStats))).map((s) => s.requests)).toEqual(before);
    });

    it('round-trips binary data and typed arrays', async () => {
      const bytes = Buffer.from([0, 1, 2, 250, 255, 0, 128]);
      const { params: echoed } = await caller.remote.execute<any>('echo', {
        params: { bytes, floats: Float64Array.from([1.5, -2.25, 1e300]), ints: Int32Array.from([-1, 0, 2147483647]), matrix: ndarray(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]) },
      });
      expect(Buffer.isBuffer(echoed.bytes)).toBe(true);
      expect(echoed.bytes.equals(bytes)).toBe(true);
      for (const [key, type, values] of [
        ['floats', Float64Array, [1.5, -2.25, 1e300]],
        ['ints', Int32Array, [-1, 0, 2147483647]],
      ] as const) {
        const value = echoed[key];
        const data = value instanceof NdArray ? value.data : value;
        expect(data).toBeInstanceOf(type);
        expect(Array.from(data as ArrayLike<number>)).toEqual(values);
      }
      expect(echoed.matrix).toBeInstanceOf(NdArray);
      expect(echoed.matrix.shape).toEqual([2, 3]);
      expect(Array.from(echoed.matrix.data)).toEqual([1, 2, 3, 4, 5, 6]);
      // The rest of the value model, and user data that looks like its tags, unchanged.
      const sent = {
        when: new Date(86_400_000),
        n: 2n ** 64n,
        $snakepit: 'mine',
        deep: [{ $snakepit: { x: [1] } }],
        lookalike: { $snakepit: 'bytes', base64: 'AAEC' },
        array: { $snakepit: 'ndarray', dtype: 'float64', shape: [1], base64: 'AAAAAAAA+D8=' },
        empty: [],
        obj: {},
        text: 'é ✓ \u0000',
      };
      const back = await caller.remote.execute<any>('echo', sent);
      expect(back).toEqual(sent);
      const blob = await caller.remote.execute<Buffer>('bytes_of', { n: 100_000, fill: 7 });
      expect(Buffer.isBuffer(blob) && blob.length === 100_000 && blob.every((x) => x === 7)).toBe(true);
    });
    it('rebuilds the other errors by class too: a stream failing after its chunks, the wrong kind of call', async () => {
      const seen: unknown[] = [];
      const error = await rejectionOf(
        (async () => {
          for await (const chunk of caller.remote.executeStream('stream_then_fail', { n: 2, type: 'ValueError' })) seen.push(chunk.data);
        })(),
      );
      expect(seen).toEqual([{ i: 0 }, { i: 1 }]); // the chunks before the failure, then the failure
      expect(error).toBeInstanceOf(PythonValueError);
      expect(error.message).toContain('failed after 2 chunks');
      await expect(caller.remote.execute('count', { n: 1 })).rejects.toBeInstanceOf(ToolKindError);
      await expect(collect(caller.remote.executeStream('add', { a: 1, b: 2 }))).rejects.toBeInstanceOf(ToolKindError);
    });

    it('refuses what is larger than the broker carries with PayloadTooLargeError, both ways', async () => {
      const before = (await Promise.all(hosts.map(poolStats))).map((s) => s.requests);
      await expect(caller.remote.execute('echo', { params: { blob: Buffer.alloc(2 * 1024 * 1024) } })).rejects.toBeInstanceOf(PayloadTooLargeError);
      expect((await Promise.all(hosts.map(poolStats))).map((s) => s.requests)).toEqual(before); // not sent
      const error = await rejectionOf(caller.remote.execute('bytes_of', { n: 2 * 1024 * 1024 }));
      expect(error).toBeInstanceOf(PayloadTooLargeError);
      await expect(caller.remote.execute('add', { a: 1, b: 1 })).resolves.toBe(2); // the host serves on
    });

    it('fails a call to a pool no host serves with NoHostAvailableError (no_hosts)', async () => {
      const impatient = await startRemoteCaller(nats.url, { queueTimeoutMs: 1000, rollCallIntervalMs: 300, rollCallWindowMs: 100 });
      try {
        await seesHosts(impatient.remote, ['host-a', 'host-b']);
        const error = await rejectionOf(impatient.remote.execute('add', { a: 1, b: 2 }, { pool: 'nope' }));
        expect(error).toBeInstanceOf(NoHostAvailableError);
        expect(error).toMatchObject({ pool: 'nope', reason: 'no_hosts' });
        await expect(impatient.remote.ready('nope', 500)).rejects.toMatchObject({ code: 'no_host_available', reason: 'no_hosts' });
        await expect(impatient.remote.ready(undefined, 500)).resolves.toBeUndefined();
        await expect(impatient.remote.execute('add', { a: 1, b: 2 })).resolves.toBe(3);
      } finally {
        await impatient.close();
      }
    });
  });

  describe('cancellation', () => {
    it('stops a call on its host when the caller\'s signal aborts', async () => {
      const token = `abort-${process.pid}`;
      const controller = new AbortController();
      const call = caller.remote.execute('wait_until_cancelled', { max_ms: 30_000, token }, { signal: controller.signal });
      await eventually(() => runningOn() !== undefined, 5000, 'the call to be placed');
      const host = runningOn()!;
      await eventually(async () => (await poolStats(host)).busy === 1, 5000, 'the call to run');
      controller.abort(new Error('the test gave up'));
      const error = await rejectionOf(call);
      expect(error).toBeInstanceOf(RequestAbortedError);
      await eventually(async () => (await poolStats(host)).busy === 0, 10_000, 'the host\'s worker to be free');
      await expect(postJson(`${host.url}/execute/finalized`, { token })).resolves.toMatchObject({ body: { result: true } }); // Python saw the cancel
      expect(caller.remote.hosts().every((h) => h.inFlight === 0)).toBe(true);
    });

    it('ends a call at its timeoutMs, on the host too', async () => {
      const token = `timeout-${process.pid}`;
      const error = await rejectionOf(caller.remote.execute('wait_until_cancelled', { max_ms: 30_000, token }, { timeoutMs: 1500 }));
      expect(error).toBeInstanceOf(RequestTimeoutError);
      expect(error.code).toBe('request_timeout');
      await eventually(allIdle, 10_000, 'the hosts\' workers to be free');
      await eventually(() => finalizedSomewhere(token), 10_000, 'Python to see the cancel');
    });
  });

  describe('placement', () => {
    beforeEach(callerSeesIdle);
    // A host takes acceptAheadPerWorker (1 by default) call per worker beyond what it runs: a
    // call may wait there, in its pool's queue, for the worker to finish (never more than that).
    const AHEAD = 1;

    it('places calls on the idle host while the other is busy, and none fails with pool_saturated', async () => {
      const sleeping = caller.remote.execute<{ pid: number }>('sleep', { ms: 5000 }, { timeoutMs: 30_000 });
      try {
        await eventually(() => caller.remote.hosts().some((h) => h.inFlight === 1), 5000, 'the sleep to be placed');
        const busy = hosts.find((h) => caller.remote.hosts().find((v) => v.hostId === h.hostId)!.inFlight === 1)!;
        const idle = hosts.find((h) => h !== busy)!;
        await eventually(async () => (await poolStats(busy)).busy === 1, 5000, 'the sleep to run');
        const before = await Promise.all([poolStats(busy), poolStats(idle)]);

        // One after another: each goes to the idle host's free worker.
        const pids: number[] = [];
        for (let i = 0; i < 4; i++) pids.push((await caller.remote.execute<{ pid: number }>('ping', {}, { timeoutMs: 20_000 })).pid);
        expect(await Promise.all(pids.map(hostOfPid))).toEqual(Array(4).fill(idle.hostId));
        const between = await Promise.all([poolStats(busy), poolStats(idle)]);
        expect([between[0].requests - before[0].requests, between[1].requests - before[1].requests, between[0].busy]).toEqual([0, 4, 1]); // still sleeping

        // Several at once, more than the idle host's one worker: they wait for room (none is
        // refused with pool_saturated), on the idle host but for at most AHEAD on the busy one.
        const results = await Promise.allSettled(Array.from({ length: 6 }, () => caller.remote.execute<{ pid: number }>('ping', {}, { timeoutMs: 20_000 })));
        const failed = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason);
        expect(failed.filter((e) => e instanceof PoolSaturatedError)).toEqual([]);
        expect(failed).toEqual([]);
        const where = await Promise.all(results.map((r) => hostOfPid((r as PromiseFulfilledResult<{ pid: number }>).value.pid)));
        expect(where.filter((id) => id === busy.hostId).length).toBeLessThanOrEqual(AHEAD);
        expect(where.filter((id) => id === idle.hostId).length).toBeGreaterThanOrEqual(6 - AHEAD);
        const after = await Promise.all([poolStats(busy), poolStats(idle)]);
        expect(after[0].requests - before[0].requests + after[1].requests - before[1].requests).toBe(10); // each ran once
        expect(await hostOfPid((await sleeping).pid)).toBe(busy.hostId);
        await eventually(() => caller.remote.hosts().every((h) => h.inFlight === 0), 5000, 'the calls to end');
      } finally {
        await sleeping.catch(() => undefined);
      }
    });

    it('sends calls elsewhere when a host is busy with work this caller does not know of', async () => {
      // The busy host's worker runs a call from its own HTTP route: the caller learns of it only
      // from the host (its roll-call answer, or its refusal).
      const [busy, idle] = hosts;
      const local = postJson(`${busy.url}/execute/sleep`, { ms: 5000 });
      try {
        await eventually(async () => (await poolStats(busy)).busy === 1, 5000, 'the local call to run');
        const before = await Promise.all([poolStats(busy), poolStats(idle)]);
        const results = await Promise.allSettled(Array.from({ length: 6 }, () => caller.remote.execute<{ pid: number }>('ping', {}, { timeoutMs: 20_000 })));
        expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
        const where = await Promise.all(results.map((r) => hostOfPid((r as PromiseFulfilledResult<{ pid: number }>).value.pid)));
        expect(where.filter((id) => id === busy.hostId).length).toBeLessThanOrEqual(AHEAD);
        expect(where.filter((id) => id === idle.hostId).length).toBeGreaterThanOrEqual(6 - AHEAD);
        const after = await Promise.all([poolStats(busy), poolStats(idle)]);
        expect(after[0].requests - before[0].requests + after[1].requests - before[1].requests).toBe(6);
      } finally {
        await expect(local).resolves.toMatchObject({ status: 200 });
      }
    });

    it('runs many calls at once on the two one-worker hosts: they wait for room, in turn, and all succeed', async () => {
      const before = await Promise.all(hosts.map(poolStats));
      const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => caller.remote.execute<number>('echo_after', { value: i, ms: 20 }, { timeoutMs: 30_000 })));
      expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
      expect(results.map((r) => (r as PromiseFulfilledResult<number>).value)).toEqual(Array.from({ length: 40 }, (_, i) => i));
      const ran = (await Promise.all(hosts.map(poolStats))).map((s, i) => s.requests - before[i].requests);
      expect(ran[0] + ran[1]).toBe(40); // each ran once: nothing refused was run, nothing ran twice
      expect(Math.min(...ran)).toBeGreaterThan(0); // both took a share
      expect(caller.remote.stats().queued).toBe(0);
    });
  });

  describe('streams', () => {
    it('delivers the chunks in order, the last one final', async () => {
      const chunks = await collect(caller.remote.executeStream('count', { n: 5 }));
      expect(chunks.map((c) => c.data)).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }, { i: 3 }, { i: 4 }, { total: 5 }]);
      expect(chunks.map((c) => c.index)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(chunks.map((c) => c.final)).toEqual([false, false, false, false, false, true]);
      const viaRx: unknown[] = [];
      await new Promise<void>((resolve, reject) => caller.remote.stream$('count', { n: 3 }).subscribe({ next: (c) => viaRx.push(c.data), error: reject, complete: resolve }));
      expect(viaRx).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }, { total: 3 }]);
    });

    it('streams binary chunks, and fails a stream whose chunk is larger than the broker carries', async () => {
      const blobs = await collect(caller.remote.executeStream<Buffer>('blob_stream', { count: 3, size: 100_000 }));
      expect(blobs.map((c) => Buffer.isBuffer(c.data) && c.data.length)).toEqual([100_000, 100_000, 100_000]);
      expect(blobs[0].data.equals(blobs[2].data)).toBe(true);
      const seen: unknown[] = [];
      const error = await rejectionOf(
        (async () => {
          for await (const chunk of caller.remote.executeStream('blob_stream', { count: 1000, size: 2 * 1024 * 1024 })) seen.push(chunk);
        })(),
      );
      expect(error).toBeInstanceOf(PayloadTooLargeError);
      expect(seen).toEqual([]);
      await eventually(allIdle, 10_000, 'the hosts\' workers to be free'); // the stream stopped there too
      await expect(caller.remote.execute('add', { a: 1, b: 1 })).resolves.toBe(2);
    });

    it('keeps a slow reader\'s buffer within the window, and slows Python down', async () => {
      const n = 5000;
      const path = join(dir, 'tally');
      const produced = () => {
        try {
          return Number(readFileSync(path, 'utf8')) || 0;
        } catch {
          return 0;
        }
      };
      const stream = caller.remote.executeStream<{ i: number }>('tally', { n, path, size: 16_384 }) as RemoteChunkStream<{ i: number }>;
      try {
        // The reader takes one window's worth (it gives the host that much credit), then pauses:
        // the host sends what its credit allows, one more window, and no more.
        const seen: number[] = [];
        for (let i = 0; i < STREAM_WINDOW; i++) seen.push((await stream.next()).value!.data.i);
        await eventually(() => stream.buffered === STREAM_WINDOW, 10_000, 'the window to fill');
        await new Promise((resolve) => setTimeout(resolve, 2000)); // time to overrun, if anything did
        expect(stream.buffered).toBe(STREAM_WINDOW);
        const stalledAt = produced();
        expect(stalledAt).toBeGreaterThanOrEqual(2 * STREAM_WINDOW);
        expect(stalledAt).toBeLessThan(n / 10); // Python waits: it has made a small part of the stream
        // Read on: the buffer never holds more than the window, and every chunk comes, in order.
        let most = 0;
        for (;;) {
          const next = await stream.next();
          most = Math.max(most, stream.buffered);
          if (next.done) break;
          seen.push(next.value.data.i);
        }
        expect(most).toBeLessThanOrEqual(STREAM_WINDOW);
        expect(seen).toEqual(Array.from({ length: n }, (_, i) => i));
        expect(produced()).toBe(n);
      } finally {
        await stream.return();
      }
    });

    it('cancels the stream on the host when the reader breaks out of for await', async () => {
      const token = `cancel-${process.pid}`;
      const before = await Promise.all(hosts.map(poolStats));
      let read = 0;
      let host: RemoteHost | undefined;
      for await (const chunk of caller.remote.executeStream<{ i: number }>('count', { n: 1_000_000, delay_ms: 5, token })) {
        host ??= hosts.find((h) => caller.remote.hosts().find((v) => v.hostId === h.hostId)!.inFlight === 1);
        expect(chunk.data).toEqual({ i: read });
        if (++read === 3) break;
      }
      expect(host).toBeDefined();
      const at = hosts.indexOf(host!);
      await eventually(async () => (await poolStats(host!)).busy === 0, 10_000, 'the host\'s worker to be free');
      // It ended there as a reader's break ends a local stream: cancelled, not an abort or an
      // error; and Python's generator was closed (its finally ran).
      const stats = await poolStats(host!);
      expect([stats.cancelled - before[at].cancelled, stats.aborted - before[at].aborted, stats.errors - before[at].errors]).toEqual([1, 0, 0]);
      expect(stats.succeeded).toBe(before[at].succeeded);
      await expect(postJson(`${host!.url}/execute/finalized`, { token })).resolves.toMatchObject({ body: { result: true } });
      expect(caller.remote.hosts().every((h) => h.inFlight === 0)).toBe(true);
      await eventually(() => caller.remote.hosts().find((v) => v.hostId === host!.hostId)!.pools.default.inFlight === 0, 10_000, 'the host to report no call in flight');
    });
    it('cancels a stream whose reader stops while the host waits for credit, in a session too', async () => {
      for (const inSession of [false, true]) {
        const token = `credit-${inSession}-${process.pid}`;
        const session = inSession ? await caller.remote.createSession() : undefined;
        const before = await endings();
        const args = { n: 1_000_000, token };
        const stream = (session ? caller.remote.executeStreamInSession(session.id, 'count', args) : caller.remote.executeStream('count', args)) as RemoteChunkStream<{ i: number }>;
        for (let i = 0; i < STREAM_WINDOW; i++) expect((await stream.next()).value!.data).toEqual({ i });
        await eventually(() => stream.buffered === STREAM_WINDOW, 10_000, 'the window to fill'); // the host waits for credit now
        await stream.return();
        await eventually(allIdle, 10_000, 'the hosts\' workers to be free');
        await eventually(() => finalizedSomewhere(token), 10_000, 'the generator\'s finally to run');
        expect(minus(await endings(), before)).toEqual([1, 0, 0]);
        await expect(stream.next()).resolves.toEqual({ value: undefined, done: true });
        if (session) await caller.remote.deleteSession(session.id);
      }
    });

    it('ends a stream at its timeoutMs, on the host too, after the chunks it had sent', async () => {
      const token = `stream-timeout-${process.pid}`;
      const stream = caller.remote.executeStream<{ i: number }>('count', { n: 1_000_000, token }, { timeoutMs: 1500 }) as RemoteChunkStream<{ i: number }>;
      expect((await stream.next()).value!.data).toEqual({ i: 0 });
      const seen: number[] = [0];
      const error = await rejectionOf(
        (async () => {
          await eventually(() => stream.buffered === STREAM_WINDOW - 1, 10_000, 'the window to fill'); // then it reads no more, for a while
          for (;;) {
            const next = await stream.next();
            if (next.done) break;
            seen.push(next.value.data.i);
            if (seen.length === 2 * STREAM_WINDOW) await new Promise((resolve) => setTimeout(resolve, 2000));
          }
        })(),
      );
      expect(error).toBeInstanceOf(RequestTimeoutError);
      expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i)); // in order, none missing, before the error
      await eventually(allIdle, 10_000, 'the hosts\' workers to be free');
      await eventually(() => finalizedSomewhere(token), 10_000, 'the generator\'s finally to run');
      await eventually(() => caller.remote.hosts().every((h) => h.inFlight === 0), 5000, 'the caller to count no call');
    });

    it('cancels the stream on the host when an observer of stream$() unsubscribes', async () => {
      const token = `rx-${process.pid}`;
      const before = await endings();
      const seen: unknown[] = [];
      await new Promise<void>((resolve, reject) =>
        caller.remote
          .stream$('count', { n: 1_000_000, delay_ms: 5, token })
          .pipe(take(3))
          .subscribe({ next: (c) => seen.push(c.data), error: reject, complete: resolve }),
      );
      expect(seen).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
      await eventually(allIdle, 10_000, 'the hosts\' workers to be free');
      await eventually(() => finalizedSomewhere(token), 10_000, 'the generator\'s finally to run');
      expect(minus(await endings(), before)).toEqual([1, 0, 0]); // cancelled, as a reader's break
      await eventually(() => caller.remote.hosts().every((h) => h.inFlight === 0), 5000, 'the caller to count no call');
    });

    it('streams within a session, on the session\'s host', async () => {
      const session = await caller.remote.createSession();
      const owner = hosts.find((h) => h.hostId === session.hostId)!;
      const before = (await poolStats(owner)).requests;
      const chunks = await collect(caller.remote.executeStreamInSession(session.id, 'count', { n: 3 }));
      expect(chunks.map((c) => c.data)).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }, { total: 3 }]);
      expect((await poolStats(owner)).requests - before).toBe(1);
      await caller.remote.deleteSession(session.id);
    });

    it('answers a host\'s own stats through the broker', async () => {
      const stats: any = await caller.remote.hostStats('host-a');
      expect(stats).toMatchObject({ hostId: 'host-a', pools: { default: { pool: 'default', status: 'ready', workers: { ready: 1 } } } });
      expect(stats.pools.default.requests).toBe((await poolStats(a)).requests);
      await expect(caller.remote.hostStats('no-such-host')).rejects.toMatchObject({ code: 'host_lost' });
    });
  });

  describe('the remote-mode sample app', () => {
    let app: RunningChild | undefined;
    let url: string;
    beforeAll(async () => {
      app = runTypeScript('apps/sample/src/main.ts', { SNAKEPIT_REMOTE: '1', NATS_URL: nats.url, PORT: '0' });
      url = /(http:\/\/\S+)/.exec(await app.line(/Snakepit sample listening on/, 60_000))![1];
    }, 70_000);
    afterAll(async () => {
      if (app && app.child.exitCode === null && app.child.signalCode === null) app.child.kill('SIGTERM');
      await app?.exited;
    });

    it('serves /execute, /pool/stats, /health, /stream and /sessions through the hosts', async () => {
      await expect(postJson(`${url}/execute/add`, { a: 20, b: 22 })).resolves.toEqual({ status: 200, body: { result: 42 } });
      const error = await postJson(`${url}/execute/raise_error`, { type: 'ValueError', message: 'nope' });
      expect(error.body.error).toMatchObject({ code: 'python_value_error' });

      await eventually(async () => (await getJson(`${url}/pool/stats`)).hosts.length === 2, 10_000, 'the app to see both hosts');
      const stats = await getJson(`${url}/pool/stats`);
      expect(stats.hosts.map((h: { hostId: string }) => h.hostId).sort()).toEqual(['host-a', 'host-b']);
      expect(stats).toMatchObject({ queued: 0, brokerReachable: true });

      const health = await getJson(`${url}/health`);
      expect(health.status).toBe('ok');
      expect(health.details.snakepit_remote).toMatchObject({ status: 'up', serving: 2 });
      expect(health.details.snakepit_remote.hosts.map((h: { hostId: string }) => h.hostId).sort()).toEqual(['host-a', 'host-b']);

      const response = await fetch(`${url}/stream/count?args=${encodeURIComponent(JSON.stringify({ n: 3 }))}`);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const text = await response.text();
      expect([...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1])).toEqual(['chunk', 'chunk', 'chunk', 'end']);
      expect([...text.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1]).data)).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }, { total: 3 }]);

      const created = await postJson(`${url}/sessions`, { metadata: { user: 'ada' } });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ id: expect.any(String), hostId: expect.stringMatching(/^host-[ab]$/), metadata: { user: 'ada' } });
      const id = created.body.id;
      await expect(postJson(`${url}/sessions/${id}/execute/counter`)).resolves.toMatchObject({ status: 200, body: { result: { counter: 1 } } });
      const second = await postJson(`${url}/sessions/${id}/execute/counter`, { step: 5 });
      expect(second.body.result.counter).toBe(6);
      expect(await hostOfPid(second.body.result.pid)).toBe(created.body.hostId);
      await expect(getJson(`${url}/sessions/${id}`)).resolves.toMatchObject({ id, metadata: { user: 'ada' } });
      expect((await fetch(`${url}/sessions/${id}`, { method: 'DELETE' })).status).toBe(204);
      expect((await fetch(`${url}/sessions/${id}`)).status).toBe(404);
      await expect(postJson(`${url}/sessions/${id}/execute/counter`)).resolves.toMatchObject({ status: 404, body: { error: { code: 'session_not_found' } } });

      // One host's own stats, through the broker.
      await expect(getJson(`${url}/pool/hosts/host-a`)).resolves.toMatchObject({ hostId: 'host-a', pools: { default: { status: 'ready' } } });
    });

    it('stops the tool on its host when an SSE client leaves', async () => {
      const token = `sse-${process.pid}`;
      const before = await endings();
      const controller = new AbortController();
      const response = await fetch(`${url}/stream/count?args=${encodeURIComponent(JSON.stringify({ n: 1_000_000, delay_ms: 5, token }))}`, { signal: controller.signal });
      const reader = response.body!.getReader();
      let text = '';
      while ((text.match(/^event: chunk$/gm) ?? []).length < 3) text += new TextDecoder().decode((await reader.read()).value);
      controller.abort();
      await reader.cancel().catch(() => undefined);
      await eventually(allIdle, 10_000, 'the hosts\' workers to be free');
      await eventually(() => finalizedSomewhere(token), 10_000, 'the generator\'s finally to run');
      expect(minus(await endings(), before)).toEqual([1, 0, 0]); // cancelled on the host, not an error
    });
  });

  describe('sessions in Redis', () => {
    it('creates a session on a host, runs its calls there, and shares its state with the other host', async () => {
      const session = await caller.remote.createSession({ metadata: { user: 'grace' } });
      expect(session.hostId).toMatch(/^host-[ab]$/);
      const owner = hosts.find((h) => h.hostId === session.hostId)!;
      const other = hosts.find((h) => h !== owner)!;
      for (let i = 0; i < 3; i++) {
        const info = await caller.remote.executeInSession<{ session_id: string; pid: number }>(session.id, 'session_info');
        expect(info.session_id).toBe(session.id);
        expect(await hostOfPid(info.pid)).toBe(owner.hostId);
      }
      await caller.remote.executeInSession(session.id, 'set_state', { key: 'model', value: { weights: [1, 2, 3] } });
      // The other host reads it from the shared store, through its own HTTP route.
      await expect(postJson(`${other.url}/sessions/${session.id}/execute/get_state`, { key: 'model' })).resolves.toMatchObject({ body: { result: { weights: [1, 2, 3] } } });
      await expect(postJson(`${other.url}/sessions/${session.id}/execute/get_state`, { key: SESSION_OWNER_STATE_KEY })).resolves.toMatchObject({ body: { result: owner.hostId } });
      // And state the other host writes is what the owner sees.
      await postJson(`${other.url}/sessions/${session.id}/execute/set_state`, { key: 'note', value: 'from the other host' });
      await expect(caller.remote.executeInSession(session.id, 'get_state', { key: 'note' })).resolves.toBe('from the other host');
      await expect(caller.remote.getSession(session.id)).resolves.toMatchObject({ id: session.id, metadata: { user: 'grace' } });
      // An id taken already is refused, on whichever host is asked.
      await expect(caller.remote.createSession({ id: session.id })).rejects.toBeInstanceOf(SessionExistsError);
      await expect(caller.remote.deleteSession(session.id)).resolves.toBe(true);
      await expect(caller.remote.deleteSession(session.id)).resolves.toBe(false);
      await expect(caller.remote.getSession(session.id)).rejects.toBeInstanceOf(SessionNotFoundError);
      await expect(caller.remote.executeInSession(session.id, 'get_state', { key: 'model' })).rejects.toBeInstanceOf(SessionNotFoundError);
      await expect(postJson(`${owner.url}/sessions/${session.id}/execute/get_state`, { key: 'model' })).resolves.toMatchObject({ status: 404 });
    });

    it('lets a host stopped with SIGTERM finish the call it runs; calls sent meanwhile, and its session, go to the other hosts', async () => {
      await callerSeesIdle();
      const c = await startRemoteHost({ natsUrl: nats.url, hostId: 'host-c', poolSize: 1, redisUrl: `redis://127.0.0.1:${redis.port}`, env: HOST_ENV });
      hosts.push(c);
      // The host listens before its worker is up (a forked worker's pid is known once it is), and
      // once c is stopping its pids can no longer be asked: take them when they are all known.
      await eventually(async () => (await workerPids(c)).filter((pid) => Number.isInteger(pid)).length === 1, 30_000, "host-c's worker pid");
      workers.set(c.hostId, await workerPids(c));
      await seesHosts(caller.remote, ['host-a', 'host-b', 'host-c']);
      // host-a and host-b are busy with work of their own: the session and the call go to host-c.
      const locals = [a, b].map((h) => postJson(`${h.url}/execute/sleep`, { ms: 6000 }));
      let meanwhile: Promise<{ pid: number }>[] = [];
      try {
        await eventually(async () => (await Promise.all([a, b].map(poolStats))).every((s) => s.busy === 1), 5000, 'host-a and host-b to be busy');
        await eventually(() => [a, b].every((h) => view(h)!.pools.default.inFlight === 1), 10_000, 'the caller to hear that host-a and host-b are busy');
        const session = await caller.remote.createSession();
        expect(session.hostId).toBe('host-c');
        await caller.remote.executeInSession(session.id, 'set_state', { key: 'kept', value: 'on c' });
        const running = caller.remote.execute<{ pid: number }>('sleep', { ms: 2000 }, { timeoutMs: 30_000 });
        await eventually(async () => (await poolStats(c)).busy === 1, 10_000, 'the call to run on host-c');

        const stopped = c.stop();
        // Sent while it stops: they wait for room on the others (host-c refuses them once it is
        // closing).
        meanwhile = Array.from({ length: 3 }, () => caller.remote.execute<{ pid: number }>('ping', {}, { timeoutMs: 30_000 }));
        const result = await running; // it ran to its end, and its result came back
        expect(await hostOfPid(result.pid)).toBe('host-c');
        await stopped;
        // Nest's shutdown hooks end the process with the signal it got, once the app has closed.
        expect(await c.process.exited).toEqual({ code: null, signal: 'SIGTERM' });
        expect(c.process.output()).not.toMatch(/Error/);
        const settled = await Promise.allSettled(meanwhile);
        expect(settled.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
        // One may have reached host-c before it heard the signal (into its one place ahead): it
        // ran there, in the drain; the others went to host-a and host-b.
        const where = await Promise.all(settled.map((r) => hostOfPid((r as PromiseFulfilledResult<{ pid: number }>).value.pid)));
        expect(where.filter((id) => id === 'host-c').length).toBeLessThanOrEqual(1);
        expect(where.filter((id) => id === 'host-a' || id === 'host-b').length).toBeGreaterThanOrEqual(2);
        // The session moves to another host on its next call (not idempotent), its state intact.
        await expect(caller.remote.executeInSession(session.id, 'get_state', { key: 'kept' }, { timeoutMs: 30_000 })).resolves.toBe('on c');
        await expect(caller.remote.executeInSession(session.id, 'get_state', { key: SESSION_OWNER_STATE_KEY })).resolves.toMatch(/^host-[ab]$/);
        await eventually(() => !caller.remote.hosts().some((h) => h.hostId === 'host-c'), 10_000, 'the caller to forget host-c');
        await caller.remote.deleteSession(session.id);
      } finally {
        await Promise.all(locals);
        await Promise.allSettled(meanwhile);
        await c.stop();
      }
    });

    // Last: it kills a host.
    it('re-homes a session whose owner was SIGKILLed onto another host, with its state', async () => {
      const session = await caller.remote.createSession();
      const owner = hosts.find((h) => h.hostId === session.hostId)!;
      await caller.remote.executeInSession(session.id, 'counter', { step: 2 });
      await caller.remote.executeInSession(session.id, 'set_state', { key: 'kept', value: 'yes' });

      const ownerWorkers = await workerPids(owner);
      await owner.kill();
      // Once the broker knows the host is gone (a call sent before then may have reached it, as
      // far as the caller can tell: that one would be a HostLostError), the next call, not marked
      // idempotent, goes to the survivor, which owns the session from then on.
      await eventually(async () => /nobody listens/.test((await rejectionOf(caller.remote.hostStats(owner.hostId))).message), 10_000, 'the broker to drop the killed host');
      const next = await caller.remote.executeInSession<{ counter: number; pid: number }>(session.id, 'counter', { step: 1 });
      expect(next.counter).toBe(3);
      const survivor = hosts.find((h) => h.process.child.exitCode === null && h.process.child.signalCode === null && h !== owner)!;
      expect(await hostOfPid(next.pid)).toBe(survivor.hostId);
      await expect(caller.remote.executeInSession(session.id, 'get_state', { key: 'kept' })).resolves.toBe('yes');
      await expect(caller.remote.executeInSession(session.id, 'get_state', { key: SESSION_OWNER_STATE_KEY })).resolves.toBe(survivor.hostId);
      await expect(postJson(`${survivor.url}/sessions/${session.id}/execute/get_state`, { key: SESSION_OWNER_STATE_KEY })).resolves.toMatchObject({ body: { result: survivor.hostId } });
      // The killed host's idle workers exit by themselves.
      await eventually(() => ownerWorkers.every((pid) => !isAlive(pid)), 15_000, 'the killed host\'s workers to exit');
    });
  });
});

describe('remote options', () => {
  it('SnakepitRemoteModule.forRoot() names every bad field', () => {
    const error = rejectionOfSync(() => SnakepitRemoteModule.forRoot({ client: { transport: Transport.NATS, options: { servers: 'nats://127.0.0.1:1' } }, timeoutMs: -1, bogus: 1 } as any));
    expect(error).toBeInstanceOf(SnakepitConfigError);
    expect(error.problems).toHaveLength(2);
    expect(error.problems.join('\n')).toMatch(/timeoutMs must be an integer from 1/);
    expect(error.problems.join('\n')).toMatch(/bogus is not an option/);
    expect(error.message).toMatch(/SnakepitRemoteModule/);

    const both = rejectionOfSync(() => SnakepitRemoteModule.forRoot({ client: {} as any, streamWindow: 0, maxRetries: 1.5 }));
    expect(both).toBeInstanceOf(SnakepitConfigError);
    expect(both.problems).toEqual([expect.stringMatching(/^client must be/), expect.stringMatching(/^streamWindow/), expect.stringMatching(/^maxRetries/)]);
  });

  it('SnakepitRemoteModule.forRootAsync() names them when the app boots', async () => {
    const boot = Test.createTestingModule({
      imports: [SnakepitRemoteModule.forRootAsync({ useFactory: () => ({ client: { transport: Transport.NATS, options: { servers: 'nats://127.0.0.1:1' } }, timeoutMs: -1, bogus: 1 }) as any })],
    })
      .setLogger(silentLogger)
      .compile();
    const error = await rejectionOf(boot);
    expect(error).toBeInstanceOf(SnakepitConfigError);
    expect(error.problems).toEqual([expect.stringMatching(/^timeoutMs must be/), expect.stringMatching(/^bogus is not an option/)]);
  });

  it('the sample app fails to boot with a bad SNAKEPIT_HOST_ID, naming it', async () => {
    const app = runTypeScript('apps/sample/src/main.ts', { NATS_URL: 'nats://127.0.0.1:1', SNAKEPIT_HOST_ID: 'a b', PORT: '0' });
    const exited = await app.exited;
    expect(exited.code).not.toBe(0);
    expect(app.output()).toMatch(/SnakepitConfigError|Invalid Snakepit options/);
    expect(app.output()).toMatch(/hostId must be 1–64 letters, digits, "_" or "-" \(got "a b"\)/);
    expect(app.output()).not.toMatch(/listening on/);
  }, 30_000);

  it('SnakepitHostModule.forRoot() names every bad field', () => {
    const error = rejectionOfSync(() => SnakepitHostModule.forRoot({ hostId: 'a b' }));
    expect(error).toBeInstanceOf(SnakepitConfigError);
    expect(error.problems).toEqual([expect.stringMatching(/^hostId must be .*"a b"/)]);
    const several = rejectionOfSync(() => SnakepitHostModule.forRoot({ hostId: 'x.y', subjectPrefix: 'a..b', heartbeatMs: 0, nope: true } as any));
    expect(several).toBeInstanceOf(SnakepitConfigError);
    expect(several.problems).toHaveLength(4);
    for (const field of [/^hostId must be/, /^subjectPrefix must be/, /^heartbeatMs must be/, /^nope is not an option/]) expect(several.problems).toContainEqual(expect.stringMatching(field));
  });
});

(runs ? describe : describe.skip)('a re-homed session, seen from inside the hosts', () => {
  let nats: NatsUnderTest;
  let redis: RedisUnderTest;
  const apps = new Map<string, INestApplication>();
  let caller: RemoteCaller;
  beforeAll(async () => {
    [nats, redis] = await Promise.all([startNats(), startRedis()]);
    // Two hosts in this process (so that their events can be heard here), sessions in one Redis.
    for (const hostId of ['inproc-1', 'inproc-2']) {
      const module = await Test.createTestingModule({
        imports: [SnakepitModule.forRoot({ adapter: SHOWCASE, poolSize: 1, sessions: { store: new RedisSessionStore(await redis.client()) } }), SnakepitHostModule.forRoot({ hostId })],
      })
        .setLogger(silentLogger)
        .compile();
      const app = module.createNestApplication({ logger: silentLogger });
      app.connectMicroservice({ transport: Transport.NATS, options: { servers: nats.url } });
      await app.startAllMicroservices();
      await app.init();
      apps.set(hostId, app);
    }
    caller = await startRemoteCaller(nats.url);
    await seesHosts(caller.remote, ['inproc-1', 'inproc-2']);
  }, 60_000);
  afterAll(async () => {
    await caller?.close();
    for (const app of apps.values()) await app.close();
    await redis?.close();
    await nats?.close();
  }, 30_000);

  it('emits snakepit.session.rehomed on the host that takes over, whose owner record says so', async () => {
    const health = new RemotePoolHealthIndicator(new HealthIndicatorService(), caller.remote);
    expect(health.isHealthy('remote', { minHosts: 2 })).toMatchObject({ remote: { status: 'up', serving: 2 } });
    const session = await caller.remote.createSession();
    const [from, to] = session.hostId === 'inproc-1' ? ['inproc-1', 'inproc-2'] : ['inproc-2', 'inproc-1'];
    await caller.remote.executeInSession(session.id, 'set_state', { key: 'kept', value: [1, 2] });
    const heard: unknown[] = [];
    for (const [hostId, app] of apps) app.get(SnakepitEvents).on(SnakepitEvent.SessionRehomed, (payload) => heard.push({ hostId, ...payload }));
    await apps.get(from)!.close(); // it leaves: gracefully, this time
    await expect(caller.remote.executeInSession(session.id, 'get_state', { key: 'kept' })).resolves.toEqual([1, 2]);
    expect(heard).toEqual([{ hostId: to, sessionId: session.id, from, to }]);
    await expect(caller.remote.executeInSession(session.id, 'get_state', { key: SESSION_OWNER_STATE_KEY })).resolves.toBe(to);
    // Once is enough: the next calls go to the new owner straight away.
    await caller.remote.executeInSession(session.id, 'get_state', { key: 'kept' });
    expect(heard).toHaveLength(1);
    // The health check counts one host now: degraded below minHosts, still up with one.
    await eventually(() => health.isHealthy('remote', { minHosts: 2 }).remote.status === 'degraded', 10_000, 'the check to see one host');
    expect(health.isHealthy('remote', { minHosts: 2 }).remote).toMatchObject({ serving: 1, hosts: [{ hostId: to, status: 'ready' }] });
    expect(health.isHealthy('remote').remote.status).toBe('up');
  });
});

(runs ? describe : describe.skip)('trace context across the broker', () => {
  const exporter = new InMemorySpanExporter();
  let nats: NatsUnderTest;
  let host: INestApplication;
  let caller: RemoteCaller;
  beforeAll(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    nats = await startNats();
    // A host in this process, so that its spans are exported here too.
    const module = await Test.createTestingModule({
      imports: [SnakepitModule.forRoot({ adapter: SHOWCASE, poolSize: 1 }), SnakepitHostModule.forRoot({ hostId: 'traced', subjectPrefix: 'traced' })],
    })
      .setLogger(silentLogger)
      .compile();
    host = module.createNestApplication({ logger: silentLogger });
    host.connectMicroservice({ transport: Transport.NATS, options: { servers: nats.url } });
    await host.startAllMicroservices();
    await host.init();
    caller = await startRemoteCaller(nats.url, { subjectPrefix: 'traced' });
    await caller.remote.ready(undefined, 20_000);
  }, 60_000);
  afterAll(async () => {
    await caller?.close();
    await host?.close();
    await nats?.close();
    trace.disable();
    context.disable();
  }, 30_000);

  it('makes the host\'s span a child of the caller\'s, in the trace Python sees', async () => {
    let root!: Span;
    const seen = await trace.getTracer('test').startActiveSpan('request', async (span) => {
      root = span;
      try {
        return await caller.remote.execute<any>('trace_info');
      } finally {
        span.end();
      }
    });
    const traceId = root.spanContext().traceId;
    const named = (name: string, kind: SpanKind) => exporter.getFinishedSpans().find((s) => s.name === name && s.kind === kind && s.spanContext().traceId === traceId);
    await eventually(() => !!named('snakepit.remote.execute trace_info', SpanKind.SERVER) && !!named('snakepit.remote.execute trace_info', SpanKind.CLIENT), 5000, 'the spans');
    const client = named('snakepit.remote.execute trace_info', SpanKind.CLIENT)!;
    const server = named('snakepit.remote.execute trace_info', SpanKind.SERVER)!;
    const call = named('snakepit.execute trace_info', SpanKind.CLIENT)!;
    expect(client.spanContext().traceId).toBe(traceId);
    expect(client.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    expect(server.spanContext().traceId).toBe(traceId);
    expect(server.parentSpanContext?.spanId).toBe(client.spanContext().spanId);
    expect(server.attributes).toMatchObject({ 'snakepit.tool': 'trace_info', 'snakepit.host': 'traced' });
    expect(call.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(seen.trace_id).toBe(traceId);
    expect(seen.traceparent).toBe(`00-${traceId}-${call.spanContext().spanId}-01`);
  });

  it('does the same for a stream', async () => {
    let root!: Span;
    const chunks = await trace.getTracer('test').startActiveSpan('request', async (span) => {
      root = span;
      try {
        return await collect(caller.remote.executeStream<{ traceparent: string }>('trace_info_stream'));
      } finally {
        span.end();
      }
    });
    const traceId = root.spanContext().traceId;
    const named = (name: string, kind: SpanKind) => exporter.getFinishedSpans().find((s) => s.name === name && s.kind === kind && s.spanContext().traceId === traceId);
    await eventually(() => !!named('snakepit.remote.stream trace_info_stream', SpanKind.SERVER) && !!named('snakepit.remote.stream trace_info_stream', SpanKind.CLIENT), 5000, 'the spans');
    const client = named('snakepit.remote.stream trace_info_stream', SpanKind.CLIENT)!;
    const server = named('snakepit.remote.stream trace_info_stream', SpanKind.SERVER)!;
    const call = named('snakepit.stream trace_info_stream', SpanKind.CLIENT)!;
    expect(client.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    expect(server.parentSpanContext?.spanId).toBe(client.spanContext().spanId);
    expect(call.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(chunks.map((c) => c.data)).toEqual([{ traceparent: `00-${traceId}-${call.spanContext().spanId}-01` }]);
  });
});

function rejectionOfSync(run: () => unknown): any {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected it to throw');
}
