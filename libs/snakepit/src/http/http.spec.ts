import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ArgumentsHost } from '@nestjs/common';
import { lastValueFrom, type Observable } from 'rxjs';
import { PoolClosedError, PoolFailedError, PoolSaturatedError, PythonValueError, ToolArgumentsError, UnknownToolError, WorkerCrashError, WorkerStartError } from '../errors';
import type { StreamChunk } from '../pool/chunk-stream';
import { abortSignalFor } from './request-abort-signal.decorator';
import { sendServerSentEvents } from './server-sent-events';
import { SnakepitExceptionFilter } from './snakepit-exception.filter';

/** A real HTTP server whose requests `handle` answers; resolves with its URL. */
async function serve(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; server: Server }> {
  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const tick = (ms = 20) => new Promise((resolve) => setTimeout(resolve, ms));

/** Chunks of a stream that records how it was stopped. */
function chunkSource(items: unknown[], options: { failWith?: Error; waitAfter?: number } = {}) {
  const seen = { returned: false, read: 0 };
  const iterator: AsyncIterableIterator<StreamChunk> = {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      if (seen.returned) return { done: true, value: undefined };
      if (options.waitAfter !== undefined && seen.read >= options.waitAfter) await new Promise(() => undefined);
      if (seen.read < items.length) return { done: false, value: { data: items[seen.read], index: seen.read++, final: seen.read === items.length && !options.failWith } };
      if (options.failWith) throw options.failWith;
      return { done: true, value: undefined };
    },
    async return() {
      seen.returned = true;
      return { done: true, value: undefined };
    },
  };
  return { iterator, seen };
}

describe('abortSignalFor', () => {
  it('fires when the client leaves before its answer, never after a normal answer', async () => {
    const signals: AbortSignal[] = [];
    const { url, server } = await serve((_req, res) => {
      signals.push(abortSignalFor(res));
      if (signals.length === 1) setTimeout(() => res.end('done'), 20);
    });
    try {
      expect(await fetch(url).then((r) => r.text())).toBe('done');
      await tick();
      expect(signals[0].aborted).toBe(false);
      const client = new AbortController();
      const gone = fetch(url, { signal: client.signal }).catch(() => 'left');
      await tick(50);
      client.abort();
      expect(await gone).toBe('left');
      await tick(50);
      expect(signals[1].aborted).toBe(true);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('sendServerSentEvents', () => {
  it('writes chunks as events, and an error without the worker output or the server fault', async () => {
    const crash = new WorkerCrashError('default-1', 42, { exitCode: 3, signal: null }, 'train', ['SECRET=abc']);
    const source = chunkSource(['a', 'b'], { failWith: crash });
    const { url, server } = await serve((_req, res) => void sendServerSentEvents(res, source.iterator));
    try {
      const response = await fetch(url);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const text = await response.text();
      expect([...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1])).toEqual(['chunk', 'chunk', 'error']);
      expect(text).toContain('"code":"worker_crashed"');
      expect(text).not.toContain('SECRET');
      expect(text).not.toContain('default-1');
    } finally {
      server.close();
    }
  });

  it('answers a stream that fails before its first chunk with the error’s status, not events', async () => {
    const unknown = chunkSource([], { failWith: new UnknownToolError('nope', ['a']) });
    const saturated = chunkSource([], { failWith: new PoolSaturatedError('default', 10, false) });
    const sources = [unknown, saturated];
    const { url, server } = await serve((_req, res) => void sendServerSentEvents(res, sources.shift()!.iterator));
    try {
      const notFound = await fetch(url);
      expect(notFound.status).toBe(404);
      expect(await notFound.json()).toEqual({ error: { code: 'unknown_tool', message: expect.stringContaining('nope') } });
      const busy = await fetch(url);
      expect([busy.status, busy.headers.get('retry-after')]).toEqual([503, '1']);
      await busy.text();
    } finally {
      server.close();
    }
  });

  it('ends every stream with an end event, also one with no chunks or no final one', async () => {
    const empty = chunkSource([]);
    const cut: AsyncIterableIterator<StreamChunk> = (async function* () {
      yield { data: 'a', index: 0, final: false };
    })();
    const sources = [empty.iterator, cut];
    const { url, server } = await serve((_req, res) => void sendServerSentEvents(res, sources.shift()!));
    try {
      const none = await fetch(url);
      expect(none.status).toBe(200);
      expect(await none.text()).toBe('event: end\ndata: null\n\n');
      const text = await fetch(url).then((r) => r.text());
      expect([...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1])).toEqual(['chunk', 'end']);
    } finally {
      server.close();
    }
  });

  it('stops the stream when the client leaves mid-stream, or had left before it began', async () => {
    const midway = chunkSource(['a', 'b', 'c'], { waitAfter: 1 });
    const early = chunkSource(['a']);
    let served = 0;
    const { url, server } = await serve((req, res) => {
      if (served++ === 0) void sendServerSentEvents(res, midway.iterator);
      else req.socket.destroy(), res.destroy(), void sendServerSentEvents(res, early.iterator);
    });
    try {
      const client = new AbortController();
      const response = await fetch(url, { signal: client.signal });
      await response.body!.getReader().read();
      client.abort();
      await tick(50);
      expect(midway.seen.returned).toBe(true);
      await fetch(url).catch(() => undefined);
      await tick(50);
      expect(early.seen.returned).toBe(true);
      expect(early.seen.read).toBe(0);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('SnakepitExceptionFilter', () => {
  /** The filter's answer to `error`, over real HTTP. */
  async function answer(error: Error, filter = new SnakepitExceptionFilter(), before?: (res: ServerResponse) => void) {
    const { url, server } = await serve((_req, res) => {
      before?.(res);
      filter.catch(error as never, { getType: () => 'http', switchToHttp: () => ({ getResponse: () => res }) } as unknown as ArgumentsHost);
    });
    try {
      const response = await fetch(url);
      const text = await response.text();
      const json = response.headers.get('content-type')?.includes('json');
      return { status: response.status, retryAfter: response.headers.get('retry-after'), body: json ? JSON.parse(text) : text };
    } finally {
      server.close();
    }
  }

  it('keeps client faults’ messages, and hides server faults’ unless asked', async () => {
    const value = new PythonValueError({ type: 'ValueError', message: 'x must be positive', traceback: 'Traceback (most recent call last): secret.py' });
    expect(await answer(value)).toEqual({ status: 422, retryAfter: null, body: { error: { code: 'python_value_error', message: 'x must be positive', pythonType: 'ValueError' } } });
    const start = new WorkerStartError('default-1', 'ModuleNotFoundError: no module [Python: /srv/app/.venv/bin/python (from venv)]', ['boot log']);
    const hidden = await answer(start);
    expect(hidden).toEqual({ status: 503, retryAfter: '1', body: { error: { code: 'worker_start_failed', message: 'The service cannot take calls now; try again later.' } } });
    const shown = await answer(start, new SnakepitExceptionFilter({ exposeDetails: true }));
    expect(shown.body.error.message).toContain('/srv/app/.venv/bin/python');
    expect((await answer(new UnknownToolError('nope', ['a', 'b']))).body.error).toEqual({ code: 'unknown_tool', message: expect.stringContaining('nope') });
    expect((await answer(new UnknownToolError('nope', ['a', 'b']), new SnakepitExceptionFilter({ exposeDetails: true }))).body.error.available).toEqual(['a', 'b']);
  });

  it('answers ToolArgumentsError with 400 and every bad field', async () => {
    const problems = [{ path: 'args.n', message: 'must be integer' }, { path: 'args', message: 'must not have the property "x"' }];
    expect(await answer(new ToolArgumentsError('count', problems))).toEqual({
      status: 400,
      retryAfter: null,
      body: { error: { code: 'tool_arguments_invalid', message: 'Invalid arguments for "count": args.n must be integer; args must not have the property "x".', problems } },
    });
  });

  it('asks clients of a saturated pool to come back, and ends an answer already under way', async () => {
    expect(await answer(new PoolSaturatedError('default', 10, false))).toMatchObject({ status: 503, retryAfter: '1', body: { error: { code: 'pool_saturated' } } });
    expect(await answer(new PoolClosedError('default'))).toMatchObject({ status: 503, retryAfter: '1' });
    expect(await answer(new PoolSaturatedError('default', 10, false), new SnakepitExceptionFilter({ retryAfterSeconds: 0 }))).toMatchObject({ status: 503, retryAfter: null });
    expect(await answer(new PythonValueError({ type: 'ValueError', message: 'no', traceback: '' }))).toMatchObject({ status: 422, retryAfter: null });
    const late = await answer(new PoolSaturatedError('default', 10, false), undefined, (res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
    });
    // The connection is ended, not left hanging (fetch resolved).
    expect(late).toEqual({ status: 200, retryAfter: null, body: 'partial' });
  });

  it('tells clients of a failed pool when its cool-down ends', async () => {
    const failed = await answer(new PoolFailedError('default', 10, 60_000, 42_000));
    expect(failed.status).toBe(503);
    expect(Number(failed.retryAfter)).toBeGreaterThanOrEqual(41);
    expect(Number(failed.retryAfter)).toBeLessThanOrEqual(42);
  });

  it('lets the error go on outside HTTP', async () => {
    const error = new PoolSaturatedError('default', 10, false);
    const result = new SnakepitExceptionFilter().catch(error, { getType: () => 'rpc' } as unknown as ArgumentsHost) as Observable<never>;
    await expect(lastValueFrom(result)).rejects.toBe(error);
  });
});
