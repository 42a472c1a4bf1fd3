import { Body, Controller, Delete, Get, HttpCode, NotFoundException, Param, Post } from '@nestjs/common';
import { RequestAbortSignal } from '@snakepit/nestjs/http';
import { toHttpResult } from './http-result';
import { SamplePools } from './sample-pools';

interface CreateSessionBody {
  id?: string;
  ttlMs?: number;
  metadata?: Record<string, unknown>;
}

@Controller('sessions')
export class SessionsController {
  constructor(private readonly pool: SamplePools) {}

  @Post()
  create(@Body() body: CreateSessionBody = {}) {
    return this.pool.createSession(body);
  }

  @Get(':id')
  get(@Param('id') id: string) {
    return this.pool.getSession(id);
  }

  @Delete(':id')
  @HttpCode(204)
  async delete(@Param('id') id: string): Promise<void> {
    if (!(await this.pool.deleteSession(id))) throw new NotFoundException(`No session "${id}"`);
  }

  /** Runs a Python tool within the session (sticks to the session's worker). */
  @Post(':id/execute/:tool')
  @HttpCode(200)
  async execute(@Param('id') id: string, @Param('tool') tool: string, @Body() args: Record<string, unknown> | undefined, @RequestAbortSignal() signal: AbortSignal) {
    return toHttpResult(await this.pool.executeInSession(id, tool, args ?? {}, { signal }));
  }
}
