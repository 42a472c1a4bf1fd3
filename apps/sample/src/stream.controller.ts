import { BadRequestException, Controller, Get, Param, Query, Res } from '@nestjs/common';
import { sendServerSentEvents } from '@snakepit/nestjs/http';
import type { Response } from 'express';
import type { StreamChunk } from '@snakepit/nestjs';
import { jsonSafe } from './http-result';
import { SamplePools } from './sample-pools';

@Controller('stream')
export class StreamController {
  constructor(private readonly pool: SamplePools) {}

  /**
   * Server-Sent Events of a streaming tool: one `chunk` event per chunk, `end` for the final
   * one, or an `error` event with `{ code, message }`. It writes only as fast as the client
   * reads (so a slow client slows Python down), and a client that leaves cancels the tool.
   */
  @Get(':tool')
  stream(@Param('tool') tool: string, @Query('args') rawArgs: string | undefined, @Res() res: Response): Promise<void> {
    return sendServerSentEvents(res, inHttpForms(this.pool.executeStream(tool, parseArgs(rawArgs))));
  }
}

/** The chunks with their data as this app's JSON gives values (bytes as base64, …). Its
 *  return() goes straight to the stream (not after the chunk it waits for): a client that
 *  leaves stops the tool at once. */
function inHttpForms(chunks: AsyncIterableIterator<StreamChunk>): AsyncIterableIterator<StreamChunk> {
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      const next = await chunks.next();
      return next.done ? next : { done: false, value: { ...next.value, data: jsonSafe(next.value.data) } };
    },
    return: (value?: unknown) => chunks.return?.(value) ?? Promise.resolve({ done: true, value: undefined }),
  };
}
function parseArgs(raw: string | undefined): Record<string, unknown> {
  if (!raw) return {};
  try {
    const parsed = JSON.parse(raw);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed;
  } catch {
    /* fall through */
  }
  throw new BadRequestException('args must be a URL-encoded JSON object, e.g. ?args=%7B%22steps%22%3A3%7D');
}
