import type { ServerResponse } from 'node:http';
import type { StreamChunk } from '../pool/chunk-stream';
import { errorResponseBody, sendErrorResponse } from './error-response';
import { rawResponse, type HttpResponseLike } from './http-response';

export interface ServerSentEventsOptions {
  /** Event names. Default: `chunk` for each chunk, `end` for the last event, `error` for a failure. */
  events?: { chunk?: string; end?: string; error?: string };
  /** Error answers and events with everything (see SnakepitExceptionFilter's option). Default false. */
  exposeDetails?: boolean;
  /** `Retry-After` on a 503 answered before the stream began (see SnakepitExceptionFilter). Default 1. */
  retryAfterSeconds?: number;
}

/**
 * Writes a stream of chunks (`pool.executeStream(...)`) to an HTTP response as Server-Sent
 * Events: one `chunk` event per chunk (`id` is its index, `data` the chunk as JSON), `end` for
 * the final one, or an `error` event with `{ code, message }`. Every stream that ends normally
 * ends with an `end` event: one with no chunk (`data: null`) when the last chunk was not final
 * or there was none.
 *
 * The status is sent with the first chunk, so a stream that fails before it (an unknown tool,
 * bad arguments, a saturated pool, a tool that raises at once) is answered as an ordinary HTTP
 * error: its status (404, 400, 503 with Retry-After, ...) and a JSON body, as the filter writes it.
 * It writes only as fast as the client reads, so a slow client slows Python down instead of
 * filling memory, and a client that leaves (or a failure to write) stops the tool in Python.
 * Resolves when the stream is over either way; never rejects. Use it with `@Res()`:
 * `stream(@Res() res: Response) { return sendServerSentEvents(res, this.pool.executeStream('train', args)); }`
 */
export async function sendServerSentEvents(
  response: HttpResponseLike,
  chunks: AsyncIterable<StreamChunk>,
  options: ServerSentEventsOptions = {},
): Promise<void> {
  const res = rawResponse(response);
  const names = { chunk: 'chunk', end: 'end', error: 'error', ...options.events };
  const exposeDetails = options.exposeDetails ?? false;
  const iterator = chunks[Symbol.asyncIterator]();
  let finished = false;
  const stop = () => {
    if (!finished) void iterator.return?.()?.catch(() => undefined);
    finished = true;
  };
  res.once('close', stop);
  let ended = false;
  try {
    if (res.destroyed) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) finished = true;
      if (res.destroyed) break;
      if (!res.headersSent) startEvents(res);
      if (next.done) break;
      const chunk = next.value;
      ended = chunk.final;
      if (!res.write(sseEvent(chunk.final ? names.end : names.chunk, chunk, chunk.index))) await drained(res);
    }
    if (!ended && res.writable) res.write(sseEvent(names.end, null));
  } catch (error) {
    finished = true; // the stream failed: nothing to stop
    if (!res.headersSent && !res.destroyed) sendErrorResponse(res, error, { exposeDetails, retryAfterSeconds: options.retryAfterSeconds ?? 1 });
    else if (res.writable) {
      const { code, message } = errorResponseBody(error, exposeDetails).error;
      res.write(sseEvent(names.error, { code, message }));
    }
  } finally {
    res.off('close', stop);
    stop(); // the client left, or writing failed: the tool stops
    if (!res.writableEnded && !res.destroyed) res.end();
  }
}

function startEvents(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.flushHeaders();
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
