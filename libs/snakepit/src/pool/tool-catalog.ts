import { ToolKindError, UnknownToolError } from '../errors';
import type { PythonToolInfo } from './worker.types';

/** The adapter's tools, as the first ready worker of a pool reported them. */
export class ToolCatalog {
  private tools?: Map<string, PythonToolInfo>;

  constructor(private readonly pool: string) {}

  /** Whether a worker has reported the tools yet. */
  get known(): boolean {
    return this.tools !== undefined;
  }

  /** The first report counts; the adapter is the same for every worker of the pool. */
  learn(tools: PythonToolInfo[]): void {
    this.tools ??= new Map(tools.map((tool) => [tool.name, tool]));
  }

  list(): PythonToolInfo[] {
    return [...(this.tools?.values() ?? [])];
  }

  /** Throws UnknownToolError or ToolKindError (only once the tools are known). */
  assertKind(tool: string, streaming: boolean): void {
    if (!this.tools) return;
    const info = this.tools.get(tool);
    if (!info) throw new UnknownToolError(tool, [...this.tools.keys()].sort(), this.pool);
    if (info.supportsStreaming !== streaming) throw new ToolKindError(tool, info.supportsStreaming);
  }
}
