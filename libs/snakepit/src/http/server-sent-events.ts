import type { ServerResponse } from 'node:http';
import { SnakepitError } from '../errors';
import type { StreamChunk } from '../pool/chunk-stream';
import { errorBody } from './error-body';
import { rawResponse, type HttpResponseLike } from './http-response';

export interface ServerSentEventsOptions {
  /** Event names. Default: `chunk` for each chunk, `end` for the final one, `error` for a failure. */
  events?: { chunk?: string; end?: string; error?: string };
  /** Error events with everything (see SnakepitExceptionFilter's option). Default false. */
  exposeDetails?: boolean;
}

/**
 * Writes a stream of chunks (`pool.executeStream(...)`) to an HTTP response as Server-Sent
 * Events: one `chunk` event per chunk (`id` is its index, `data` the chunk as JSON), `end` for
 * the final one, or an `error` event with `{ code, message }`. It writes only as fast as the
 * client reads, so a slow client slows Python down instead of filling memory, and a client that
 * leaves (or a failure to write) stops the tool in Python. Resolves when the stream is over
 * either way; never rejects. Use it with `@Res()`:
 * `stream(@Res() res: Response) { return sendServerSentEvents(res, this.pool.executeStream('train', args)); }`
 */
export async function sendServerSentEvents(
  response: HttpResponseLike,
  chunks: AsyncIterable<StreamChunk>,
  options: ServerSentEventsOptions = {},
): Promise<void> {
  const res = rawResponse(response);
  const names = { chunk: 'chunk', end: 'end', error: 'error', ...options.events };
  const iterator = chunks[Symbol.asyncIterator]();
  let finished = false;
  const stop = () => {
    if (!finished) void iterator.return?.()?.catch(() => undefined);
    finished = true;
  };
  res.once('close', stop);
  try {
    if (res.destroyed) return;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.flushHeaders();
    for (;;) {
      const next = await iterator.next();
      if (next.done) {
        finished = true;
        break;
      }
      if (res.destroyed) break;
      const chunk = next.value;
      if (!res.write(sseEvent(chunk.final ? names.end : names.chunk, chunk, chunk.index))) await drained(res);
    }
  } catch (error) {
    finished = true; // the stream failed: nothing to stop
    if (res.writable) {
      const body = error instanceof SnakepitError ? errorBody(error, { exposeDetails: options.exposeDetails ?? false }) : { code: 'internal_error', message: 'The stream failed.' };
      res.write(sseEvent(names.error, { code: body.code, message: body.message }));
    }
  } finally {
    res.off('close', stop);
    stop(); // the client left, or writing failed: the tool stops
    if (!res.writableEnded && !res.destroyed) res.end();
  }
}

/** One event in the text/event-stream format. */
export function sseEvent(event: string, data: unknown, id?: number): string {
  return `event: ${event}\n${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(data)}\n\n`;
}

/** Resolves once the response can take more, or the client has gone. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}
