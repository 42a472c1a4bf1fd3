import { Logger } from '@nestjs/common';
import { PoolClosedError, PoolFailedError, QueueTimeoutError, RequestTimeoutError, StreamConsumerIdleError, WorkerCrashError, WorkerProtocolError, WorkerStartError } from '../errors';
import { defaultBehaviour, fakePoolSetup, NO_HOST, settleDown, type FakeWorker } from '../../test-support/fake-worker';
import { SnakepitEvent } from '../telemetry/events';
import { Pool } from './pool';

Logger.overrideLogger(false);

const rejectionOf = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);

function poolOf(setup: ReturnType<typeof fakePoolSetup>): Pool {
  return new Pool(setup.config, setup.context);
}

/** The first unanswered call of a fake worker. */
async function callOn(worker: FakeWorker) {
  for (let i = 0; i < 100 && worker.calls.length === 0; i++) await settleDown(1);
  return worker.calls[0];
}

/** The first worker, other than `not`, that has a call. */
async function workerWithCall(workers: FakeWorker[], not?: FakeWorker): Promise<FakeWorker> {
  for (let i = 0; i < 200; i++) {
    const found = workers.find((worker) => worker !== not && worker.calls.length > 0);
    if (found) return found;
    await settleDown(1);
  }
  throw new Error('no worker got the call');
}

/** A one-worker pool, started, with a `count` stream open on its worker. */
async function streamingPool(options: Parameters<typeof fakePoolSetup>[0]) {
  const setup = fakePoolSetup({ poolSize: 1, ...options });
  const pool = poolOf(setup);
  await pool.start(Promise.resolve(NO_HOST));
  const worker = setup.workers[0];
  const chunks = pool.executeStream('count', {});
  for (let i = 0; i < 100 && worker.streams.length === 0; i++) await settleDown(1);
  return { pool, worker, chunks, stream: worker.streams[0] };
}

/** Everything the consumer reads, and the error the stream ends with (if any). */
async function readAll(chunks: AsyncIterable<{ data: unknown; final: boolean }>): Promise<{ seen: Array<[unknown, boolean]>; error?: unknown }> {
  const seen: Array<[unknown, boolean]> = [];
  try {
    for await (const chunk of chunks) seen.push([chunk.data, chunk.final]);
    return { seen };
  } catch (error) {
    return { seen, error };
  }
}

describe('Pool lifecycle (fake workers)', () => {
  it('starting → ready: ready() resolves and the pool serves', async () => {
    const setup = fakePoolSetup();
    const pool = poolOf(setup);
    expect(pool.stats().status).toBe('starting');
    const early = pool.execute('add', { a: 1, b: 2 }); // waits for a worker
    await pool.start(Promise.resolve(NO_HOST));
    await expect(pool.ready()).resolves.toBeUndefined();
    expect(pool.stats()).toMatchObject({ status: 'ready', workers: { total: 2, ready: 2 } });
    expect(await early).toBe(3);
    expect(setup.names()).toContain(SnakepitEvent.PoolReady);
    await pool.close(100, 100);
  });

  it('starting → failed: a worker that cannot start fails the pool, its waiting calls and ready()', async () => {
    const setup = fakePoolSetup({}, defaultBehaviour({ startup: async (worker) => { if (worker.id === 'default-2') throw new WorkerStartError(worker.id, 'no module'); } }));
    const pool = poolOf(setup);
    const waiting = rejectionOf(pool.execute('sleep', {}));
    await expect(pool.start(Promise.resolve(NO_HOST))).rejects.toBeInstanceOf(WorkerStartError);
    expect(pool.stats().status).toBe('failed');
    expect(await rejectionOf(pool.ready())).toBeInstanceOf(WorkerStartError);
    expect(await waiting).toBeInstanceOf(WorkerStartError);
    expect(await rejectionOf(pool.execute('add', { a: 1, b: 1 }))).toBeInstanceOf(WorkerStartError);
    expect(setup.workers.every((worker) => worker.state === 'exited')).toBe(true);
    expect(setup.names().filter((name) => name.startsWith('snakepit.pool'))).toEqual([SnakepitEvent.PoolFailed]);
    await pool.close(100, 100);
  });

  it('queued → queued: a call given to a worker whose channel just broke goes back to the head of the queue', async () => {
    const setup = fakePoolSetup();
    const pool = poolOf(setup);
    await pool.start(Promise.resolve(NO_HOST));
    for (const worker of setup.workers) worker.channelBroken = true;
    const call = pool.execute('add', { a: 1, b: 2 });
    await settleDown(5);
    expect(setup.workers.map((worker) => worker.calls.length)).toEqual([0, 0]);
    expect(pool.stats().queued).toBe(1);
    for (const worker of setup.workers) worker.kill('protocol'); // what the broken channel leads to
    expect(await call).toBe(3); // on a replacement
    await pool.close(100, 100);
  });

  it('failed → starting → ready: restart() recovers the pool', async () => {
    let failing = true;
    const setup = fakePoolSetup({ poolSize: 1 }, defaultBehaviour({ startup: async (worker) => { if (failing) throw new WorkerStartError(worker.id, 'not yet'); } }));
    const pool = poolOf(setup);
    await pool.start(Promise.resolve(NO_HOST)).catch(() => undefined);
    expect(pool.stats().status).toBe('failed');
    failing = false;
    await pool.restart();
    expect(pool.stats().status).toBe('ready');
    expect(await pool.execute('add', { a: 2, b: 2 })).toBe(4);
    expect(setup.names()).toContain(SnakepitEvent.PoolRecovered);
    await pool.close(100, 100);
  });

  it('failed → starting by itself after restart.cooldownMs', async () => {
    let failing = true;
    const setup = fakePoolSetup({ poolSize: 1, restart: { cooldownMs: 20 } }, defaultBehaviour({ startup: async (worker) => { if (failing) throw new WorkerStartError(worker.id, 'not yet'); } }));
    const pool = poolOf(setup);
    await pool.start(Promise.resolve(NO_HOST)).catch(() => undefined);
    failing = false;
    for (let i = 0; i < 100 && pool.stats().status !== 'ready'; i++) await settleDown(5);
    expect(pool.stats().status).toBe('ready');
    await pool.close(100, 100);
  });

  it('ready → failed when the restart budget is spent, with PoolFailedError for waiting and new calls', async () => {
    const setup = fakePoolSetup({ poolSize: 1, restart: { maxRestarts: 1, backoffMs: 0, cooldownMs: 60_000 } });
    const pool = poolOf(setup);
    await pool.start(Promise.resolve(NO_HOST));
    setup.workers[0].crash();
    for (let i = 0; i < 100 && setup.workers.length < 2; i++) await settleDown(1);
    for (let i = 0; i < 100 && setup.workers[1].state !== 'ready'; i++) await settleDown(1);
    setup.workers[1].crash();
    for (let i = 0; i < 100 && pool.stats().status !== 'failed'; i++) await settleDown(1);
    expect(pool.stats().status).toBe('failed');
    expect(await rejectionOf(pool.execute('add', { a: 1, b: 1 }))).toBeInstanceOf(PoolFailedError);
    expect(await rejectionOf(pool.ready())).toBeInstanceOf(PoolFailedError);
    await pool.close(100, 100);
  });

  it('starting → closing → closed: ready() rejects with PoolClosedError, no worker starts afterwards', async () => {
    const setup = fakePoolSetup();
    const pool = poolOf(setup);
    let env!: (value: typeof NO_HOST) => void;
    const started = pool.start(new Promise((resolve) => (env = resolve)));
    const closed = pool.close(100, 100);
    expect(pool.stats().status).toBe('closing');
    expect(await rejectionOf(pool.ready())).toBeInstanceOf(PoolClosedError);
    env(NO_HOST);
    await started;
    await closed;
    expect(pool.stats().status).toBe('closed');
    expect(setup.workers).toHaveLength(0);
    expect(await rejectionOf(pool.restart())).toBeInstanceOf(PoolClosedError);
    expect(pool.close(100, 100)).toBe(closed); // a second close is the same one
  });

  it('ready → closing → closed: running calls finish within the grace, waiting ones fail, workers stop', async () => {
    const setup = fakePoolSetup({ poolSize: 1 });
    const pool = poolOf(setup);
    await pool.start(Promise.resolve(NO_HOST));
    const running = pool.execute('sleep', {});
    const waiting = rejectionOf(pool.execute('sleep', {}));
    const call = await callOn(setup.workers[0]);
    const closed = pool.close(50, 100);
    expect(await rejectionOf(pool.execute('add', { a: 1, b: 1 }))).toBeInstanceOf(PoolClosedError);
    call.reply('done');
    expect(await running).toBe('done');
    await closed;
    expect(await waiting).toBeInstanceOf(PoolClosedError);
    expect(setup.workers[0].stopReason).toBe('shutdown');
    expect(pool.stats().status).toBe('closed');
  });

  it('failed → closing: a failed pool closes too', async () => {
    const setup = fakePoolSetup({ poolSize: 1 }, defaultBehaviour({ startup: async (worker) => { throw new WorkerStartError(worker.id, 'broken'); } }));
    const pool = poolOf(setup);
    await pool.start(Promise.resolve(NO_HOST)).catch(() => undefined);
    await pool.close(10, 10);
    expect(pool.stats().status).toBe('closed');
  });
});

describe('Pool calls (fake workers)', () => {
  it('queued → done: a call that waits too long for a busy pool leaves the queue', async () => {
    const setup = fakePoolSetup({ poolSize: 1, queue: { timeoutMs: 20 } });
    const pool = poolOf(setup);
    await pool.start(Promise.resolve(NO_HOST));
    const busy = pool.execute('sleep', {});
    expect(await rejectionOf(pool.execute('sleep', {}))).toBeInstanceOf(QueueTimeoutError);
    (await callOn(setup.workers[0])).reply(1);
    await busy;
    expect(pool.stats()).toMatchObject({ queued: 0, busy: 0, timeouts: 1 });
    await pool.close(10, 10);
  });

  it('running → abandoned → done: a timed-out call is cancelled in Python and its worker taken again once it ends', async () => {
    const setup = fakePoolSetup({ poolSize: 1, cancelGraceMs: 1000 });
    const pool = poolOf(setup);
    await pool.start(Promise.resolve(NO_HOST));
    const worker = setup.workers[0];
    expect(await rejectionOf(pool.execute('sleep', {}, { timeoutMs: 10 }))).toBeInstanceOf(RequestTimeoutError);
    expect(worker.cancelled).toHaveLength(1);
    expect(pool.listWorkers()[0].inFlight).toBe(1); // still on the worker
    const next = pool.execute('add', { a: 1, b: 1 });
    worker.calls[0].reply('late'); // Python stopped after all
    expect(await next).toBe(2);
    expect(pool.listWorkers()[0].inFlight).toBe(0);
    await pool.close(10, 10);
  });

  it('abandoned → stuck: a call still running after cancelGraceMs gets its worker replaced', async () => {
    const setup = fakePoolSetup({ poolSize: 1, cancelGraceMs: 10 });
    const pool = poolOf(setup);
    await pool.start(Promise.resolve(NO_HOST));
    await rejectionOf(pool.execute('sleep', {}, { timeoutMs: 5 }));
    for (let i = 0; i < 100 && setup.workers[0].state !== 'exited'; i++) await settleDown(2);
    expect(setup.workers[0].stopReason).toBe('stuck');
    for (let i = 0; i < 100 && pool.stats().workers.ready < 1; i++) await settleDown(2);
    expect(await pool.execute('add', { a: 3, b: 4 })).toBe(7); // on the replacement
    await pool.close(10, 10);
  });

  it('running → backoff → queued → running: an idempotent call whose worker died runs again elsewhere', async () => {
    const setup = fakePoolSetup({ poolSize: 2, crashBarrier: { retryBackoffMs: 1, taintMs: 0 } });
    const pool = poolOf(setup);
    await pool.start(Promise.resolve(NO_HOST));
    const call = pool.execute('sleep', {}, { idempotent: true });
    const first = await workerWithCall(setup.workers);
    first.crash();
    const second = await workerWithCall(setup.workers, first);
    second.calls[0].reply('again');
    expect(await call).toBe('again');
    expect(pool.stats()).toMatchObject({ retries: 1, crashes: 1 });
    expect(setup.names()).toContain(SnakepitEvent.CallRetried);
    await pool.close(10, 10);
  });

  it('running → done with the crash, for a call that may not run twice', async () => {
    const setup = fakePoolSetup({ poolSize: 1 });
    const pool = poolOf(setup);
    await pool.start(Promise.resolve(NO_HOST));
    const call = rejectionOf(pool.execute('sleep', {}));
    await callOn(setup.workers[0]);
    setup.workers[0].crash({ exitCode: 139, signal: null });
    const error = await call;
    expect(error).toBeInstanceOf(WorkerCrashError);
    expect((error as WorkerCrashError).classification).toBe('segfault');
    await pool.close(10, 10);
  });

  it('streams: chunks in order with the last one final; a consumer that leaves frees the worker', async () => {
    const setup = fakePoolSetup({ poolSize: 1, cancelGraceMs: 1000 });
    const pool = poolOf(setup);
    await pool.start(Promise.resolve(NO_HOST));
    const worker = setup.workers[0];
    const chunks = pool.executeStream('count', {});
    for (let i = 0; i < 100 && worker.streams.length === 0; i++) await settleDown(1);
    const stream = worker.streams[0];
    stream.send(0);
    stream.send(1);
    stream.finish();
    const seen = [];
    for await (const chunk of chunks) seen.push([chunk.data, chunk.final]);
    expect(seen).toEqual([[0, false], [1, true]]);
    const left = pool.executeStream('count', {});
    for (let i = 0; i < 100 && worker.streams.length < 2; i++) await settleDown(1);
    worker.streams[1].send('a');
    worker.streams[1].send('b');
    expect((await left.next()).value).toMatchObject({ data: 'a' });
    await left.return!();
    expect(worker.cancelled).toHaveLength(1);
    worker.streams[1].close(); // Python stopped
    await settleDown(1);
    expect(pool.stats()).toMatchObject({ cancelled: 1, busy: 0 });
    await pool.close(10, 10);
  });

  it('fails a stream that the worker ends as cancelled when the host did not cancel it', async () => {
    const { pool, worker, chunks, stream } = await streamingPool({});
    stream.send(0);
    stream.send(1);
    stream.endCancelled();
    const { seen, error } = await readAll(chunks);
    expect(seen).toEqual([[0, false], [1, false]]);
    expect(error).toBeInstanceOf(WorkerProtocolError);
    expect((error as Error).message).toContain('ended as cancelled');
    expect(worker.cancelled).toEqual([]);
    for (let i = 0; i < 100 && worker.state === 'ready'; i++) await settleDown(1);
    expect(worker.stopReason).toBe('protocol');
    await pool.close(10, 10);
  });

  it('stops a stream whose consumer stalls with its buffer full, and frees the worker', async () => {
    const { pool, worker, chunks, stream } = await streamingPool({ streamIdleTimeoutMs: 30, cancelGraceMs: 1000 });
    for (let i = 0; i < 40; i++) stream.send(i);
    expect(stream.paused).toBe(true);
    for (let i = 0; i < 200 && worker.cancelled.length === 0; i++) await settleDown(1);
    expect(worker.cancelled).toHaveLength(1); // Python is asked to stop
    stream.close();
    await settleDown(1);
    expect(pool.stats().busy).toBe(0);
    const { seen, error } = await readAll(chunks);
    expect(seen.length).toBeGreaterThan(0); // what it had buffered comes first
    expect(error).toBeInstanceOf(StreamConsumerIdleError);
    await pool.close(10, 10);
  });
});

describe('Pool prefetch (fake workers)', () => {
  /** A one-worker pool that sends calls ahead, with `sleep` running and one `sleep` sent ahead. */
  async function busyWorker() {
    const setup = fakePoolSetup({ poolSize: 1, prefetchPerWorker: 1, crashBarrier: { taintMs: 0 } });
    const pool = poolOf(setup);
    await pool.start(Promise.resolve(NO_HOST));
    const front = rejectionOf(pool.execute('sleep', {}));
    const ahead = pool.execute('sleep', {});
    const worker = setup.workers[0];
    for (let i = 0; i < 100 && worker.calls.length < 2; i++) await settleDown(1);
    return { setup, pool, worker, front, ahead };
  }

  it('sends a call ahead to a busy worker and says so, and only then', async () => {
    const { pool, worker, ahead } = await busyWorker();
    expect(worker.calls.map((c) => c.started !== undefined)).toEqual([false, true]);
    expect(pool.stats().queued).toBe(0);
    const closed = rejectionOf(ahead);
    await pool.close(100, 100);
    await closed;
  });

  it('runs a call sent ahead elsewhere, not as a retry, when its worker dies before starting it', async () => {
    const { setup, pool, worker, front, ahead } = await busyWorker();
    worker.crash();
    expect(await front).toBeInstanceOf(WorkerCrashError);
    const replacement = await workerWithCall(setup.workers, worker);
    replacement.calls[0].reply('ran once');
    await expect(ahead).resolves.toBe('ran once');
    expect(pool.stats().retries).toBe(0);
    await pool.close(100, 100);
  });

  it('fails a call sent ahead that had started, as any call under a crash (it is not idempotent)', async () => {
    const { pool, worker, front, ahead } = await busyWorker();
    worker.calls[0].reply('front done');
    worker.calls[0].started!();
    worker.crash();
    await expect(front).resolves.toBeUndefined();
    expect(await rejectionOf(ahead)).toBeInstanceOf(WorkerCrashError);
    await pool.close(100, 100);
  });
});

