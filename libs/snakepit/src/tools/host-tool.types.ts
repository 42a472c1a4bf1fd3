import type { Type } from '@nestjs/common';

/** Facts about the Python call that invoked a host tool. */
export interface HostToolContext {
  /** The session of the Python call, when it ran in one. */
  sessionId?: string;
  /** The worker whose tool made the call. */
  workerId?: string;
}

export type HostToolHandler = (args: any, context: HostToolContext) => unknown;

export interface HostToolOptions {
  /** Tool name as Python calls it. Default: the method name. */
  name?: string;
  description?: string;
  /**
   * The arguments: a class-validator DTO class (arguments are validated and transformed into
   * it before the handler runs), or a plain description (a JSON Schema) shown to Python as is.
   * For @SnakepitTool, the type of the method's first parameter is used when it is a class.
   */
  parameters?: Type<unknown> | Record<string, unknown>;
}

/** A host tool as `ToolRegistryService.list()` and Python's `host_tools` show it. */
export interface HostToolInfo {
  name: string;
  description: string;
  parameters?: unknown;
}
