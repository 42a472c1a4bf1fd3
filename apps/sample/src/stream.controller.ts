import { BadRequestException, Controller, Get, Param, Query, Res } from '@nestjs/common';
import { PoolService, SnakepitError } from '@snakepit/nestjs';
import type { Response } from 'express';

@Controller('stream')
export class StreamController {
  constructor(private readonly pool: PoolService) {}

  /**
   * Server-Sent Events of a streaming tool: one `chunk` event per chunk, `end` for the final
   * one, or an `error` event with `{ code, message }`. It writes only as fast as the client
   * reads (so a slow client slows Python down), and a client that leaves cancels the tool.
   */
  @Get(':tool')
  async stream(@Param('tool') tool: string, @Query('args') rawArgs: string | undefined, @Res() res: Response): Promise<void> {
    const args = parseArgs(rawArgs);
    res.status(200).set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    res.flushHeaders();
    const chunks = this.pool.executeStream(tool, args);
    let gone = false;
    res.on('close', () => {
      gone = true;
      void chunks.return?.();
    });
    try {
      for await (const chunk of chunks) {
        if (!res.write(sseEvent(chunk.final ? 'end' : 'chunk', chunk, chunk.index))) await writable(res);
        if (gone) return;
      }
    } catch (error) {
      const body = error instanceof SnakepitError ? { code: error.code, message: error.message } : { code: 'internal', message: (error as Error).message };
      if (!gone) res.write(sseEvent('error', body));
    }
    res.end();
  }
}

function sseEvent(event: string, data: unknown, id?: number): string {
  return `event: ${event}\n${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(data)}\n\n`;
}

/** Resolves once the response can take more, or the client has gone. */
function writable(res: Response): Promise<void> {
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
