import { Body, Controller, HttpCode, Optional, Param, Post } from '@nestjs/common';
import { ToolRegistryService } from '@snakepit/nestjs';
import { RequestAbortSignal } from '@snakepit/nestjs/http';
import { fromHttpArguments } from './http-arguments';
import { toHttpResult } from './http-result';
import { SamplePools } from './sample-pools';

@Controller('execute')
export class ExecuteController {
  constructor(
    private readonly pool: SamplePools,
    /** Absent in remote mode: the arguments then go as JSON gives them. */
    @Optional() private readonly registry?: ToolRegistryService,
  ) {}

  /** Runs a Python tool; the JSON body holds its keyword arguments (bytes as base64, arrays as
   *  `{ dtype, shape, data }`, dates as ISO text, where the tool's hints ask for them). Bytes
   *  come back as base64. A client that disconnects cancels the call, queued or running. */
  @Post(':tool')
  @HttpCode(200)
  async execute(@Param('tool') tool: string, @Body() args: Record<string, unknown> | undefined, @RequestAbortSignal() signal: AbortSignal) {
    return toHttpResult(await this.pool.execute(tool, fromHttpArguments(args ?? {}, this.argumentSchema(tool)), { signal }));
  }

  private argumentSchema(tool: string) {
    try {
      return this.registry?.listPythonTools().find((known) => known.name === tool)?.schemas?.arguments;
    } catch {
      return undefined; // the pool is not there (yet): the call itself says why
    }
  }
}
