import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { inProject } from '../python/project-root';
import { pythonStubs } from '../tools/python-stubs';
import type { HostToolInfo } from '../tools/host-tool.types';
import type { CliConsole } from './console';
import { writeGenerated } from './generated-file';

export interface GenStubsOptions {
  projectRoot: string;
  /** A JSON file of the host tools (`ToolRegistryService.list()`), or an http(s) URL that
   *  answers it (an array, or `{ host: [...] }` as the sample app's GET /tools). */
  tools: string;
  out: string;
  check: boolean;
}

/** `snakepit gen stubs`: the host tools as a typed Python module (see pythonStubs). */
export async function genStubs(out: CliConsole, options: GenStubsOptions): Promise<void> {
  const remote = /^https?:\/\//.test(options.tools);
  const source = remote ? options.tools : inProject(options.projectRoot, options.tools);
  const file = inProject(options.projectRoot, options.out);
  const shown = relative(process.cwd(), file) || file;
  out.step(1, 2, `the host tools of ${remote ? source : relative(process.cwd(), source) || source}`);
  let tools: HostToolInfo[];
  try {
    tools = toolList(await readTools(source, remote));
  } catch (error) {
    out.fail((error as Error).message, 'give --tools a JSON file of JSON.stringify(app.get(ToolRegistryService).list()), or a URL that answers it');
    return;
  }
  out.ok(`${tools.length} tools: ${tools.map((tool) => tool.name).sort().join(', ') || '(none)'}`);
  writeGenerated(out, { file, shown, text: pythonStubs(tools), check: options.check, command: `snakepit gen stubs --tools ${options.tools} --out ${options.out}`, what: `${tools.length} host tools` });
}

async function readTools(source: string, remote: boolean): Promise<unknown> {
  if (remote) {
    const answer = await fetch(source);
    if (!answer.ok) throw new Error(`${source} answered ${answer.status}`);
    return answer.json();
  }
  return JSON.parse(readFileSync(source, 'utf8'));
}

function toolList(listing: unknown): HostToolInfo[] {
  const tools = Array.isArray(listing) ? listing : (listing as { host?: unknown } | null)?.host;
  const valid = Array.isArray(tools) && tools.every((tool) => typeof tool === 'object' && tool !== null && typeof (tool as HostToolInfo).name === 'string');
  if (!valid) throw new Error('the listing is not a list of host tools (an array of { name, description, parameters }, or { host: [...] })');
  return tools as HostToolInfo[];
}
