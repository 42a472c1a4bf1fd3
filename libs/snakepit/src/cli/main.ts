import { parseArgs } from 'node:util';
import { SnakepitConfigError } from '../errors';
import { CliConsole } from './console';
import { doctor } from './doctor';
import { genAdapter } from './gen-adapter';
import { genStubs } from './gen-stubs';
import { genTypes } from './gen-types';
import { setup } from './setup';
import { resolve } from 'node:path';
import { findProjectRoot } from '../python/project-root';
import type { BridgeSource, PythonStrategy } from '../python/python-runtime';

const USAGE = `snakepit: set up and check the Python side of Snakepit for NestJS

  snakepit setup [--strategy venv|uv|system] [--python PATH] [--base-python PATH] [--venv-dir .venv]
                 [--requirements FILE]... [--find-links DIR]... [--no-index] [--allow-system-install]
      Find or create this project's Python (by default a venv in the project), install the
      requirements (the bridge's and requirements.txt), check the stubs, and record the
      interpreter in .snakepit/python. Nothing is installed into a Python outside a venv
      unless --allow-system-install says so.

  snakepit doctor [--adapter module:Class] [--python-path DIR]... [--python PATH]
                  [--strategy system|venv|uv] [--bridge bundled|installed]
                  [--runtime-dir DIR] [--instance NAME]
      Check the interpreter, grpc and protobuf, the bridge's version and protocol, an adapter,
      the runtime directory and orphaned workers. Exits 1 when a check fails.

  snakepit gen adapter <Name> [--dir python] [--force]
      Write a Python adapter with two example tools and a test, and show how to use it.

  snakepit gen types --adapter module:Class [--python-path DIR]... [--python PATH]
                     [--out src/python-tools.ts] [--name MlTools] [--check]
      Start one worker of the adapter and write a TypeScript module of its tools' types: an
      interface (default: the class name, "Adapter" replaced by "Tools") for typed calls,
      BoundPool<MlTools>. --check writes nothing and exits 1 when the file is out of date.

  snakepit gen stubs --tools FILE|URL [--out python/host_tools.py] [--check]
      Write a typed Python module of the host tools (one function per tool, its arguments
      checked before the call leaves Python) from their listing: a JSON file of
      ToolRegistryService.list(), or a URL that answers it. --check writes nothing and exits 1
      when the file is out of date.

Every command works on the project root: --project DIR, else the nearest directory with a
package.json above the current one. Relative paths resolve against it (--dir: the current one).
SNAKEPIT_PYTHON names the interpreter for the library, this CLI and the sample app alike.
`;

const STRATEGIES = ['system', 'venv', 'uv'];
const BRIDGES = ['bundled', 'installed'];

/** Runs one command; returns the exit code (0 ok, 1 a check or step failed, 2 bad usage). An
 *  unexpected error is printed as a message, not a stack trace. */
export async function main(argv: string[], out = new CliConsole()): Promise<number> {
  try {
    return await run(argv, out);
  } catch (error) {
    if (error instanceof SnakepitConfigError) {
      out.info(`${error.message}\n\n${USAGE}`);
      return 2;
    }
    out.info(`snakepit: ${(error as Error).message}`);
    return 1;
  }
}

async function run(argv: string[], out: CliConsole): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    out.info(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || command === 'help' || command === undefined) {
    out.info(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }
  if (values.strategy !== undefined && !STRATEGIES.includes(values.strategy)) {
    out.info(`--strategy must be one of ${STRATEGIES.join(', ')} (got "${values.strategy}")`);
    return 2;
  }
  if (values.bridge !== undefined && !BRIDGES.includes(values.bridge)) {
    out.info(`--bridge must be one of ${BRIDGES.join(', ')} (got "${values.bridge}")`);
    return 2;
  }
  const strategy = values.strategy as PythonStrategy | undefined;
  const projectRoot = values.project ? resolve(values.project) : findProjectRoot(process.cwd());
  if (command === 'setup' && rest.length === 0) {
    await setup(out, {
      projectRoot,
      strategy,
      python: values.python,
      basePython: values['base-python'],
      venvDir: values['venv-dir'] ?? '.venv',
      requirements: values.requirements ?? [],
      findLinks: values['find-links'] ?? [],
      noIndex: values['no-index'] ?? false,
      allowSystemInstall: values['allow-system-install'] ?? false,
    });
  } else if (command === 'doctor' && rest.length === 0) {
    await doctor(out, {
      projectRoot,
      python: { pythonExecutable: values.python, strategy, venvDir: values['venv-dir'], bridge: values.bridge as BridgeSource | undefined },
      adapter: values.adapter,
      pythonPath: values['python-path'] ?? [],
      runtimeDir: values['runtime-dir'],
      instanceName: values.instance,
    });
  } else if (command === 'gen' && rest[0] === 'adapter' && rest.length === 2) {
    try {
      genAdapter(out, { name: rest[1], dir: values.dir ?? 'python', force: values.force ?? false, projectRoot });
    } catch (error) {
      out.info((error as Error).message);
      return 2;
    }
  } else if (command === 'gen' && rest[0] === 'types' && rest.length === 1) {
    if (!values.adapter) {
      out.info(`gen types needs --adapter module:Class\n\n${USAGE}`);
      return 2;
    }
    await genTypes(out, {
      projectRoot,
      adapter: values.adapter,
      pythonPath: values['python-path'] ?? [],
      python: { pythonExecutable: values.python, strategy, venvDir: values['venv-dir'], bridge: values.bridge as BridgeSource | undefined },
      out: values.out ?? 'src/python-tools.ts',
      name: values.name,
      check: values.check ?? false,
    });
  } else if (command === 'gen' && rest[0] === 'stubs' && rest.length === 1) {
    if (!values.tools) {
      out.info(`gen stubs needs --tools FILE|URL\n\n${USAGE}`);
      return 2;
    }
    await genStubs(out, { projectRoot, tools: values.tools, out: values.out ?? 'python/host_tools.py', check: values.check ?? false });
  } else {
    out.info(`unknown command: ${positionals.join(' ')}\n\n${USAGE}`);
    return 2;
  }
  if (out.failures) out.info(`\n${out.failures} step(s) failed.`);
  return out.failures ? 1 : 0;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      strategy: { type: 'string' },
      python: { type: 'string' },
      'base-python': { type: 'string' },
      'venv-dir': { type: 'string' },
      requirements: { type: 'string', multiple: true },
      'find-links': { type: 'string', multiple: true },
      'no-index': { type: 'boolean' },
      'allow-system-install': { type: 'boolean' },
      project: { type: 'string' },
      bridge: { type: 'string' },
      adapter: { type: 'string' },
      'python-path': { type: 'string', multiple: true },
      'runtime-dir': { type: 'string' },
      instance: { type: 'string' },
      dir: { type: 'string' },
      force: { type: 'boolean' },
      out: { type: 'string' },
      name: { type: 'string' },
      check: { type: 'boolean' },
      tools: { type: 'string' },
    },
  });
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
