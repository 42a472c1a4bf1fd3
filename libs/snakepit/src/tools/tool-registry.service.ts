import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import {
  HOST_TOOL_NAME_PATTERN,
  HostToolExistsError,
  HostToolFailedError,
  HostToolNotFoundError,
  HostToolValidationError,
  InvalidHostToolNameError,
  SnakepitError,
} from '../errors';
import { PoolManager } from '../pool/pool-manager';
import type { PythonToolInfo } from '../pool/worker';
import { describeDto, isDtoClass, validateDto } from './dto-validation';
import { pythonStubs } from './python-stubs';
import type { HostToolContext, HostToolHandler, HostToolInfo, HostToolOptions } from './host-tool.types';

interface RegisteredTool {
  info: HostToolInfo;
  handler: HostToolHandler;
  dto?: Parameters<typeof validateDto>[0];
}

/**
 * Host tools: functions of this Nest app that Python calls with
 * `self.session_context.call_host_tool(name, **kwargs)`. Register them here, or put
 * @SnakepitTool() on a provider's method.
 */
@Injectable()
export class ToolRegistryService {
  private readonly tools = new Map<string, RegisteredTool>();

  // PoolManager is looked up on use: it depends on the host bridge, which depends on this registry.
  constructor(private readonly moduleRef: ModuleRef) {}

  register(name: string, handler: HostToolHandler, options: Omit<HostToolOptions, 'name'> = {}): void {
    if (typeof name !== 'string' || !HOST_TOOL_NAME_PATTERN.test(name)) throw new InvalidHostToolNameError(String(name));
    if (this.tools.has(name)) throw new HostToolExistsError(name);
    if (typeof handler !== 'function') throw new TypeError(`the handler of host tool "${name}" must be a function`);
    if (typeof options.parameters === 'function' && !isDtoClass(options.parameters)) {
      throw new TypeError(`the parameters of host tool "${name}" are a class without class-validator rules`);
    }
    const dto = isDtoClass(options.parameters) ? options.parameters : undefined;
    const parameters = dto ? describeDto(dto) : options.parameters;
    this.tools.set(name, { info: { name, description: options.description ?? '', parameters }, handler, dto });
  }

  /** Resolves whether the tool was registered. */
  unregister(name: string): boolean {
    return this.tools.delete(name);
  }

  list(): HostToolInfo[] {
    return [...this.tools.values()].map((tool) => tool.info);
  }

  /** A typed Python module of these host tools (what `snakepit gen stubs` writes): one function
   *  per tool that checks its arguments before the call leaves Python. */
  pythonStubs(): string {
    return pythonStubs(this.list());
  }

  /**
   * Runs a host tool as Python would. Rejects with HostToolNotFoundError,
   * HostToolValidationError, or HostToolFailedError wrapping what the handler threw.
   */
  async call(name: string, args: Record<string, unknown> = {}, context: HostToolContext = {}): Promise<unknown> {
    const tool = this.tools.get(name);
    if (!tool) throw new HostToolNotFoundError(name, [...this.tools.keys()].sort());
    let input: unknown = args;
    if (tool.dto) {
      const checked = await validateDto(tool.dto, args);
      if (!checked.ok) throw new HostToolValidationError(name, checked.problems);
      input = checked.value;
    }
    try {
      return await tool.handler(input, context);
    } catch (error) {
      if (error instanceof SnakepitError) throw error;
      throw new HostToolFailedError(name, error);
    }
  }

  /** The Python tools of a pool's adapter, as its workers reported them at start-up. */
  listPythonTools(pool?: string): PythonToolInfo[] {
    return this.moduleRef.get(PoolManager, { strict: false }).getPool(pool).listTools();
  }
}
