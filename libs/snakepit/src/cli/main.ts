import { parseArgs } from 'node:util';
import { SnakepitConfigError } from '../errors';
import { CliConsole } from './console';
import { doctor } from './doctor';
import { genAdapter } from './gen-adapter';
import { setup } from './setup';
import type { PythonStrategy } from '../python/python-runtime';

const USAGE = `snakepit: set up and check the Python side of Snakepit for NestJS

  snakepit setup [--strategy system|venv|uv] [--python PATH] [--base-python PATH] [--venv-dir .venv]
                 [--requirements FILE]... [--find-links DIR]... [--no-index]
      Find or create this project's Python, install the requirements (the bridge's and
      ./requirements.txt), generate the stubs, and record the interpreter in .snakepit/python.

  snakepit doctor [--adapter module:Class] [--python-path DIR]... [--python PATH]
                  [--strategy system|venv|uv] [--runtime-dir DIR] [--instance NAME]
      Check the interpreter, grpc and protobuf, the protocol, an adapter, the runtime
      directory and orphaned workers. Exits 1 when a check fails.

  snakepit gen adapter <Name> [--dir python] [--force]
      Write a Python adapter with two example tools and a test, and show how to use it.

SNAKEPIT_PYTHON names the interpreter for the library, this CLI and the sample app alike.
`;

const STRATEGIES = ['system', 'venv', 'uv'];

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
  const strategy = values.strategy as PythonStrategy | undefined;
  if (command === 'setup' && rest.length === 0) {
    await setup(out, {
      strategy,
      python: values.python,
      basePython: values['base-python'],
      venvDir: values['venv-dir'] ?? '.venv',
      requirements: values.requirements ?? [],
      findLinks: values['find-links'] ?? [],
      noIndex: values['no-index'] ?? false,
    });
  } else if (command === 'doctor' && rest.length === 0) {
    await doctor(out, {
      python: { pythonExecutable: values.python, strategy, venvDir: values['venv-dir'] },
      adapter: values.adapter,
      pythonPath: values['python-path'] ?? [],
      runtimeDir: values['runtime-dir'],
      instanceName: values.instance,
    });
  } else if (command === 'gen' && rest[0] === 'adapter' && rest.length === 2) {
    try {
      genAdapter(out, rest[1], values.dir ?? 'python', values.force ?? false);
    } catch (error) {
      out.info((error as Error).message);
      return 2;
    }
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
      adapter: { type: 'string' },
      'python-path': { type: 'string', multiple: true },
      'runtime-dir': { type: 'string' },
      instance: { type: 'string' },
      dir: { type: 'string' },
      force: { type: 'boolean' },
    },
  });
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
