import { Controller, Get } from '@nestjs/common';
import { PoolService, ToolRegistryService } from '@snakepit/nestjs';

@Controller('tools')
export class ToolsController {
  constructor(
    private readonly registry: ToolRegistryService,
    private readonly pool: PoolService,
  ) {}

  /** Host tools (that Python can call) and each pool's Python tools. */
  @Get()
  list() {
    return {
      host: this.registry.list(),
      python: Object.fromEntries(this.pool.listPools().map((name) => [name, this.registry.listPythonTools(name)])),
    };
  }
}
