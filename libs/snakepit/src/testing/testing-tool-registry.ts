import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { PythonToolInfo } from '../pool/worker';
import { ToolRegistryService } from '../tools/tool-registry.service';
import { SnakepitTestingPool } from './snakepit-testing-pool';

/** ToolRegistryService of a testing module: the host tools are real; the "Python" tools are the fakes. */
@Injectable()
export class TestingToolRegistry extends ToolRegistryService {
  constructor(private readonly refs: ModuleRef) {
    super(refs);
  }

  override listPythonTools(pool?: string): PythonToolInfo[] {
    return this.refs.get(SnakepitTestingPool, { strict: false }).listTools(pool);
  }
}
