import { relative } from 'node:path';
import { inProject } from '../python/project-root';
import type { PythonRuntimeOptions } from '../python/python-runtime';
import type { PythonToolInfo } from '../pool/worker.types';
import type { CliConsole } from './console';
import { writeGenerated } from './generated-file';
import { interfaceNameFor, toolsModule } from './ts-from-schema';

export interface GenTypesOptions {
  projectRoot: string;
  adapter: string;
  pythonPath: string[];
  python: PythonRuntimeOptions & { pythonExecutable?: string };
  /** The module to write, from the project root. */
  out: string;
  name?: string;
  check: boolean;
}

/** Starts one worker of the adapter (a Nest application context, pool size 1), reads its tools
 *  and closes it: the worker is stopped before this resolves. */
async function describeTools(options: GenTypesOptions): Promise<PythonToolInfo[]> {
  const [{ NestFactory }, { SnakepitModule }, { ToolRegistryService }, { PoolService }] = await Promise.all([
    import('@nestjs/core'),
    import('../snakepit.module'),
    import('../tools/tool-registry.service'),
    import('../pool/pool.service'),
  ]);
  const { pythonExecutable, ...python } = options.python;
  const app = await NestFactory.createApplicationContext(
    SnakepitModule.forRoot({
      adapter: options.adapter,
      poolSize: 1,
      pythonPath: options.pythonPath,
      pythonExecutable,
      python,
      projectRoot: options.projectRoot,
    }),
    { logger: false, abortOnError: false },
  );
  try {
    await app.get(PoolService).ready();
    return app.get(ToolRegistryService).listPythonTools();
  } finally {
    await app.close();
  }
}

/** Writes (or, with `check`, compares) the TypeScript module of the adapter's tools. */
export async function genTypes(out: CliConsole, options: GenTypesOptions): Promise<void> {
  const file = inProject(options.projectRoot, options.out);
  const shown = relative(process.cwd(), file) || file;
  const name = options.name ?? interfaceNameFor(options.adapter);
  if (!/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name)) throw new Error(`--name must be a TypeScript identifier (got "${name}")`);
  out.step(1, 2, `the tools of ${options.adapter} (one worker)`);
  let tools: PythonToolInfo[];
  try {
    tools = await describeTools(options);
  } catch (error) {
    out.fail(`the worker did not start: ${(error as Error).message}`, `check it with: snakepit doctor --adapter ${options.adapter}${options.pythonPath.map((dir) => ` --python-path ${dir}`).join('')}`);
    return;
  }
  out.ok(`${tools.length} tools: ${tools.map((tool) => tool.name).sort().join(', ')}`);
  const untyped = tools.filter((tool) => !tool.schemas).map((tool) => tool.name);
  if (untyped.length) out.info(`      note: no schemas from the bridge for ${untyped.join(', ')} (an older snakepit-bridge?): typed as open`);
  const command = `snakepit gen types --adapter ${options.adapter}${options.name ? ` --name ${options.name}` : ''}`;
  const source = toolsModule(tools, name, command);
  writeGenerated(out, {
    file,
    shown,
    text: source,
    check: options.check,
    command: `snakepit gen types --adapter ${options.adapter}`,
    what: `interface ${name}, ${tools.length} tools`,
    afterWrite: `use it as BoundPool<${name}> or PoolService<${name}>`,
  });
}
