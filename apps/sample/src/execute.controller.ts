import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { RequestAbortSignal } from '@snakepit/nestjs/http';
import { toHttpResult } from './http-result';
import { SamplePools } from './sample-pools';

@Controller('execute')
export class ExecuteController {
  constructor(private readonly pool: SamplePools) {}

  /** Runs a Python tool; the JSON body holds its keyword arguments. Bytes come back as base64.
   *  A client that disconnects cancels the call, queued or running. */
  @Post(':tool')
  @HttpCode(200)
  async execute(@Param('tool') tool: string, @Body() args: Record<string, unknown> | undefined, @RequestAbortSignal() signal: AbortSignal) {
    return toHttpResult(await this.pool.execute(tool, args ?? {}, { signal }));
  }
}
