import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { PoolService } from '@snakepit/nestjs';
import { toHttpResult } from './http-result';

@Controller('execute')
export class ExecuteController {
  constructor(private readonly pool: PoolService) {}

  /** Runs a Python tool; the JSON body holds its keyword arguments. Bytes come back as base64. */
  @Post(':tool')
  @HttpCode(200)
  async execute(@Param('tool') tool: string, @Body() args: Record<string, unknown> | undefined) {
    return toHttpResult(await this.pool.execute(tool, args ?? {}));
  }
}
