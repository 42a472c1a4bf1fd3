import { BadRequestException, Controller, Get, Param, Query, Res } from '@nestjs/common';
import { sendServerSentEvents } from '@snakepit/nestjs/http';
import type { Response } from 'express';
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
    return sendServerSentEvents(res, this.pool.executeStream(tool, parseArgs(rawArgs)));
  }
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
