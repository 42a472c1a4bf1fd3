import {
  PythonValueError,
  RequestAbortedError,
  RequestTimeoutError,
  StreamConsumerIdleError,
  SessionService,
  ToolKindError,
  WorkerCrashError,
  type StreamChunk,
} from '@snakepit/nestjs';
import { bootApp, rejectionOf, type TestApp } from './support/app';
import { eventually } from './support/processes';

async function collect<T>(stream: AsyncIterable<StreamChunk<T>>): Promise<StreamChunk<T>[]> {
  const chunks: StreamChunk<T>[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

let tokens = 0;
const token = () => `t${process.pid}-${++tokens}`;

describe('streaming', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await bootApp({ poolSize: 2, cancelGraceMs: 2000 });
    await app.pool.ready();
  });
  afterAll(() => app.close());

  const finalized = (t: string) => app.pool.execute<boolean>('finalized', { token: t });
  let pids: number[] = [];
  beforeEach(() => {
    pids = app.pool.listWorkers().map((w) => w.pid!).sort();
  });
  // The same processes still serve: no worker was killed to stop a stream.
  const noWorkerLost = () => expect(app.pool.listWorkers().map((w) => w.pid!).sort()).toEqual(pids);

  it('delivers chunks in order, the return value last, marked final', async () => {
    const chunks = await collect(app.pool.executeStream('count', { n: 5 }));
    expect(chunks.map((c) => c.data)).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }, { i: 3 }, { i: 4 }, { total: 5 }]);
    expect(chunks.map((c) => c.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(chunks.map((c) => c.final)).toEqual([false, false, false, false, false, true]);
  });

  it('marks the last chunk final when the tool returns nothing (async generator)', async () => {
    const chunks = await collect(app.pool.executeStream('count_async', { n: 3 }));
    expect(chunks).toEqual([
      { data: { i: 0 }, index: 0, final: false },
      { data: { i: 1 }, index: 1, final: false },
      { data: { i: 2 }, index: 2, final: true },
    ]);
  });

  it('streams from a tool that calls stream.send()', async () => {
    const chunks = await collect(app.pool.executeStream('count_stream', { n: 4 }));
    expect(chunks.map((c) => c.data)).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }, { i: 3 }, { total: 4 }]);
  });

  it.each([
    ['breaking out of the loop', 'count'],
    ['breaking out of the loop (stream.send style)', 'count_stream'],
  ])('stops the Python generator when the consumer stops: %s', async (_how, tool) => {
    const t = token();
    let seen = 0;
    for await (const chunk of app.pool.executeStream(tool, { n: 10_000, delay_ms: 5, token: t })) {
      expect(chunk.index).toBe(seen++);
      if (seen === 3) break;
    }
    await eventually(() => finalized(t), 5000, 'the generator’s finally to run');
    await eventually(() => app.pool.stats().busy === 0, 5000, 'the worker to be free');
    noWorkerLost();
    expect(app.pool.stats().cancelled).toBeGreaterThan(0);
  });

  it('stops the Python generator on abort, and the loop throws RequestAbortedError', async () => {
    const t = token();
    const controller = new AbortController();
    const error = await rejectionOf(
      (async () => {
        for await (const chunk of app.pool.executeStream('count', { n: 10_000, delay_ms: 5, token: t }, { signal: controller.signal })) {
          if (chunk.index === 2) controller.abort();
        }
      })(),
    );
    expect(error).toBeInstanceOf(RequestAbortedError);
    await eventually(() => finalized(t), 5000, 'the generator’s finally to run');
    noWorkerLost();
  });

  it('stops the Python generator on timeout, and the loop throws RequestTimeoutError', async () => {
    const t = token();
    const error = await rejectionOf(collect(app.pool.executeStream('count', { n: 10_000, delay_ms: 5, token: t }, { timeoutMs: 300 })));
    expect(error).toBeInstanceOf(RequestTimeoutError);
    await eventually(() => finalized(t), 5000, 'the generator’s finally to run');
    noWorkerLost();
  });

  it('drops a stream the consumer leaves while it still waits for a worker', async () => {
    const t = token();
    const busy = [app.pool.executeStream('count', { n: 10_000, delay_ms: 5 }), app.pool.executeStream('count', { n: 10_000, delay_ms: 5 })];
    await Promise.all(busy.map((stream) => stream.next()));
    const waiting = app.pool.executeStream('count', { n: 5, token: t });
    expect(app.pool.stats().queued).toBe(1);
    await waiting.return!();
    expect(app.pool.stats().queued).toBe(0);
    await Promise.all(busy.map((stream) => stream.return!()));
    await eventually(() => app.pool.stats().busy === 0, 5000, 'the workers to be free');
    await expect(finalized(t)).resolves.toBe(false); // it never ran
    noWorkerLost();
  });

  it('stops a session stream when its consumer stops', async () => {
    const t = token();
    const sessions = app.module.get(SessionService);
    const { id } = await sessions.create();
    for await (const chunk of app.pool.executeStreamInSession(id, 'count', { n: 10_000, delay_ms: 5, token: t })) {
      if (chunk.index === 1) break;
    }
    await eventually(() => finalized(t), 5000, 'the generator’s finally to run');
    noWorkerLost();
    await sessions.delete(id);
  });

  it('delivers an error raised mid-stream after the chunks before it, typed as for execute', async () => {
    const seen: unknown[] = [];
    const error = await rejectionOf(
      (async () => {
        for await (const chunk of app.pool.executeStream('stream_then_fail', { n: 3, type: 'ValueError' })) seen.push(chunk.data);
      })(),
    );
    expect(seen).toHaveLength(3);
    expect(error).toBeInstanceOf(PythonValueError);
    expect(error.traceback).toContain('stream_then_fail');
  });

  it('frees the worker of a stream that failed while its consumer was behind (its buffer full)', async () => {
    // 16 chunks and the error, read by no one for a while: the error's arrival pushes the 16th
    // chunk, which fills the buffer and pauses the producer just as the stream fails.
    const stream = app.pool.executeStream('stream_then_fail', { n: 16, type: 'ValueError' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const error = await rejectionOf((async () => {
      for await (const _chunk of stream) {
        /* the rest */
      }
    })());
    expect(error).toBeInstanceOf(PythonValueError);
    await eventually(() => app.pool.stats().busy === 0, 5000, 'the worker to be free');
    await expect(app.pool.execute('add', { a: 1, b: 1 })).resolves.toBe(2);
  });

  it('tells the caller when a tool is called the wrong way', async () => {
    await expect(app.pool.execute('count', { n: 1 })).rejects.toBeInstanceOf(ToolKindError);
    await expect(collect(app.pool.executeStream('add', { a: 1, b: 2 }))).rejects.toBeInstanceOf(ToolKindError);
  });

  it('streams within a session', async () => {
    const { id } = await app.module.get(SessionService).create();
    const chunks = await collect(app.pool.executeStreamInSession(id, 'count', { n: 2 }));
    expect(chunks.map((c) => c.data)).toEqual([{ i: 0 }, { i: 1 }, { total: 2 }]);
    expect((await app.module.get(SessionService).get(id)).workers.default).toEqual(expect.any(String));
  });

  it('runs 100 concurrent streams on 2 workers to completion', async () => {
    const results = await Promise.all(Array.from({ length: 100 }, (_, n) => collect(app.pool.executeStream('count', { n: n % 7 }))));
    results.forEach((chunks, n) => {
      expect(chunks.map((c) => c.data)).toEqual([...Array.from({ length: n % 7 }, (_, i) => ({ i })), { total: n % 7 }]);
    });
    noWorkerLost();
  });

  it('ends a stream whose worker crashes with WorkerCrashError, after the chunks before it', async () => {
    const seen: unknown[] = [];
    const error = await rejectionOf(
      (async () => {
        for await (const chunk of app.pool.executeStream('stream_then_crash', { n: 2 })) seen.push(chunk.data);
      })(),
    );
    expect(seen).toHaveLength(2);
    expect(error).toBeInstanceOf(WorkerCrashError);
    expect(error.exitCode).toBe(3);
    await eventually(() => app.pool.stats().workers.ready === 2, 10_000, 'the pool to be full again');
  });
});

describe('a stream whose consumer stalls', () => {
  it('is stopped after streamIdleTimeoutMs: Python stops, the worker serves again, the consumer learns why', async () => {
    const app = await bootApp({ poolSize: 1, streamIdleTimeoutMs: 300, cancelGraceMs: 2000 });
    try {
      await app.pool.ready();
      const t = `idle-${process.pid}`;
      const chunks = app.pool.executeStream('count', { n: 1_000_000, token: t });
      const first = await chunks.next(); // then it reads no more
      expect(first.done).toBe(false);
      await eventually(async () => (await app.pool.execute<boolean>('finalized', { token: t })) === true, 10_000, 'the generator to stop');
      expect(app.pool.stats().busy).toBe(0);
      const error = await rejectionOf(collect(chunks));
      expect(error).toBeInstanceOf(StreamConsumerIdleError);
      expect(error.message).toMatch(/read nothing for 300 ms/);
    } finally {
      await app.close();
    }
  });
});
