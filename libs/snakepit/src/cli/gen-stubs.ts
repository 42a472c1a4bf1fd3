import { readFileSync } from 'node:fs';
import { pythonStubs } from '../tools/python-stubs';
import type { HostToolInfo } from '../tools/host-tool.types';
import type { CliConsole } from './console';
import { writeGenerated } from './generated-file';

export interface GenStubsOptions {
  /** A JSON file of the host tools (`ToolRegistryService.list()`), or an http(s) URL that
   *  answers it (an array, or `{ host: [...] }` as the sample app's GET /tools). */
  tools: string;
  out: string;
  check: boolean;
}

/** `snakepit gen stubs`: the host tools as a typed Python module. Returns the exit code. */
export async function genStubs(out: CliConsole, options: GenStubsOptions): Promise<number> {
  const tools = toolList(await readTools(options.tools), options.tools);
  return writeGenerated(out, options.out, pythonStubs(tools), options.check, 'snakepit gen stubs');
}

async function readTools(source: string): Promise<unknown> {
  if (/^https?:\/\//.test(source)) {
    const answer = await fetch(source);
    if (!answer.ok) throw new Error(`${source} answered ${answer.status}: give a URL that answers the host tools (ToolRegistryService.list())`);
    return answer.json();
  }
  try {
    return JSON.parse(readFileSync(source, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read the host tools from ${source} (${(error as Error).message}): write them with JSON.stringify(app.get(ToolRegistryService).list())`);
  }
}

function toolList(listing: unknown, source: string): HostToolInfo[] {
  const tools = Array.isArray(listing) ? listing : (listing as { host?: unknown } | null)?.host;
  const valid = Array.isArray(tools) && tools.every((tool) => typeof tool === 'object' && tool !== null && typeof (tool as HostToolInfo).name === 'string');
  if (!valid) throw new Error(`${source} is not a list of host tools (an array of { name, description, parameters }, or { host: [...] })`);
  return tools as HostToolInfo[];
}
