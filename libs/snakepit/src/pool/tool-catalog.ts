import { Logger } from '@nestjs/common';
import type Ajv2020 from 'ajv/dist/2020';
import { ToolKindError, UnknownToolError } from '../errors';
import { ArgumentValidator, createAjv } from './argument-validator';
import type { PythonToolInfo } from './worker.types';

/** The adapter's tools, as the first ready worker of a pool reported them, with the validators
 *  of their arguments. */
export class ToolCatalog {
  private tools?: Map<string, PythonToolInfo>;
  private ajv?: Ajv2020;
  /** Each tool's validator once compiled; null: it has no schema, or one Ajv cannot compile. */
  private readonly validators = new Map<string, ArgumentValidator | null>();

  /** `validate`: the pool checks arguments by default (compile every schema when the tools are learned). */
  constructor(
    private readonly pool: string,
    private readonly validate = true,
  ) {}

  /** Whether a worker has reported the tools yet. */
  get known(): boolean {
    return this.tools !== undefined;
  }

  /** The first report counts; the adapter is the same for every worker of the pool. */
  learn(tools: PythonToolInfo[]): void {
    if (this.tools) return;
    this.tools = new Map(tools.map((tool) => [tool.name, tool]));
    if (this.validate) for (const name of this.tools.keys()) this.validatorOf(name);
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

  /** Throws ToolArgumentsError when `args` do not match the tool's arguments schema (nothing is
   *  checked before the tools are known, for an unknown tool, or one without a usable schema). */
  assertArguments(tool: string, args: unknown): void {
    this.validatorOf(tool)?.assert(args);
  }

  private validatorOf(tool: string): ArgumentValidator | null | undefined {
    const known = this.validators.get(tool);
    if (known !== undefined) return known;
    const info = this.tools?.get(tool);
    if (!info) return undefined;
    const schema = info.schemas?.arguments;
    let validator: ArgumentValidator | null = null;
    if (schema) {
      try {
        validator = ArgumentValidator.compile((this.ajv ??= createAjv()), tool, schema);
      } catch (error) {
        new Logger(`Snakepit:${this.pool}`).warn(`The arguments of "${tool}" are not checked on the host: their schema does not compile (${(error as Error).message}).`);
      }
    }
    this.validators.set(tool, validator);
    return validator;
  }
}
