import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { bridgePaths } from '../python/bridge-paths';
import { PythonPackages } from '../python/python-packages';
import { bridgeRequirementsFile, readRequirements } from '../python/requirements-file';
import { choosePython, RECORDED_PYTHON_FILE, venvPython, type PythonStrategy } from '../python/python-runtime';
import { onPath, runCommand } from '../python/run-command';
import type { CliConsole } from './console';
import { probePython } from './python-probe';

export interface SetupOptions {
  strategy?: PythonStrategy;
  /** An interpreter to use as it is (else $SNAKEPIT_PYTHON, else the strategy decides). */
  python?: string;
  /** The interpreter a new venv is made from. Default: the recorded one, else python3. */
  basePython?: string;
  venvDir: string;
  /** Requirement files; default ./requirements.txt when there is one. */
  requirements: string[];
  findLinks: string[];
  noIndex: boolean;
}

const TOTAL = 4;

/** Finds or creates the project's Python, installs the requirements, generates the stubs, records the choice. */
export async function setup(out: CliConsole, options: SetupOptions): Promise<void> {
  out.step(1, TOTAL, 'Python runtime');
  const runtime = await findOrCreate(out, options);
  if (!runtime) return;
  const facts = await probePython(runtime.executable);
  if ('error' in facts || !facts.versionOk) {
    const why = 'error' in facts ? facts.error : `it is Python ${facts.version}; Snakepit needs 3.9+`;
    return out.fail(`${runtime.executable} cannot be used: ${why}`, 'install Python 3.9+, or set SNAKEPIT_PYTHON to one');
  }
  out.ok(`${facts.executable} ${facts.version} (${runtime.how})`);

  out.step(2, TOTAL, 'requirements');
  const specs = requirementsOf(out, options.requirements);
  if (!specs) return;
  try {
    const result = await new PythonPackages(runtime.executable).ensure(specs, {
      installer: runtime.strategy === 'uv' ? 'uv' : 'pip',
      findLinks: options.findLinks,
      noIndex: options.noIndex,
      onOutput: (line) => out.progress(line),
    });
    const installed = result.installed.map((p) => `${p.name} ${p.installed}`).join(', ') || 'nothing';
    const there = result.alreadySatisfied.map((p) => `${p.name}${p.installed ? ` ${p.installed}` : ''}`).join(', ') || 'nothing';
    out.ok(`installed: ${installed}; already there: ${there}`);
  } catch (error) {
    return out.fail((error as Error).message.split('\n')[0], runtime.strategy === 'system' ? 'use a venv: snakepit setup --strategy venv' : 'check the requirements and the package index');
  }

  out.step(3, TOTAL, 'Python stubs of the wire contract');
  await generateStubs(out, runtime.executable);

  out.step(4, TOTAL, `recording the interpreter in ${RECORDED_PYTHON_FILE}`);
  mkdirSync(dirname(RECORDED_PYTHON_FILE), { recursive: true });
  writeFileSync(RECORDED_PYTHON_FILE, `${facts.executable}\n`);
  out.ok(`the library, the CLI and the sample app use ${facts.executable} unless SNAKEPIT_PYTHON or an option says otherwise`);
}

async function findOrCreate(out: CliConsole, options: SetupOptions): Promise<{ executable: string; strategy: PythonStrategy; how: string } | undefined> {
  const explicit = options.python ?? process.env.SNAKEPIT_PYTHON;
  if (explicit) return { executable: explicit, strategy: 'system', how: options.python ? '--python' : 'SNAKEPIT_PYTHON' };
  const venvDir = resolve(options.venvDir);
  const strategy = options.strategy ?? (existsSync(venvDir) ? 'venv' : (await onPath('uv')) ? 'uv' : 'system');
  if (strategy === 'system') {
    const choice = choosePython({});
    return { executable: choice.executable, strategy, how: `system, ${choice.source}` };
  }
  const executable = venvPython(venvDir);
  if (existsSync(executable)) return { executable, strategy, how: `${strategy}, the existing ${options.venvDir}` };
  // With the system's site packages, so that a system grpcio or protobuf (Debian's) serves.
  const [command, args] = strategy === 'uv'
    ? ['uv', ['venv', '--system-site-packages', ...(options.basePython ? ['--python', options.basePython] : []), venvDir]]
    : [options.basePython ?? choosePython({}).executable, ['-m', 'venv', '--system-site-packages', venvDir]];
  out.progress(`creating ${options.venvDir} with ${command} ${args.join(' ')}`);
  const made = await runCommand(command, args, { timeoutMs: 300_000, onLine: (line) => out.progress(line) });
  if (made.code !== 0) {
    out.fail(`could not create ${options.venvDir}: ${made.spawnError?.message ?? made.stderr.trim().split('\n').pop()}`, strategy === 'uv' ? 'install uv, or use --strategy venv' : 'install python3-venv (Debian), or use --strategy system');
    return undefined;
  }
  return { executable, strategy, how: `${strategy}, created ${options.venvDir}` };
}

/** The bridge's requirements, then each file's (see readRequirements). */
function requirementsOf(out: CliConsole, files: string[]): string[] | undefined {
  const wanted = files.length ? files : existsSync('requirements.txt') ? ['requirements.txt'] : [];
  const specs: string[] = [];
  for (const file of [bridgeRequirementsFile(), ...wanted]) {
    try {
      const read = readRequirements(file);
      for (const option of read.skipped) out.progress(`skipped the pip option "${option}" in ${file}`);
      specs.push(...read.specs);
    } catch (error) {
      out.fail(`cannot read ${file}: ${(error as Error).message}`, 'pass an existing file to --requirements');
      return undefined;
    }
  }
  return specs;
}

/** Regenerates the stubs when they are missing, older than the proto, or do not load against
 *  this interpreter's protobuf. */
async function generateStubs(out: CliConsole, python: string): Promise<void> {
  const { protoFile, pythonDir } = bridgePaths();
  const generated = join(pythonDir, 'snakepit_bridge', 'generated', 'snakepit_bridge_pb2.py');
  const fresh = existsSync(generated) && statSync(generated).mtimeMs >= statSync(protoFile).mtimeMs;
  const facts = fresh ? await probePython(python) : undefined;
  const loads = facts !== undefined && !('error' in facts) && facts.bridge !== undefined;
  if (fresh && loads) return out.ok('up to date');
  const script = join(dirname(dirname(protoFile)), 'scripts', 'gen-python-stubs.sh');
  if (!existsSync(script)) return out.fail(`${generated} is missing, stale or does not load`, 'reinstall the package (its stubs ship with it)');
  if (existsSync(generated)) rmSync(generated); // stale or built for another protobuf
  const result = await runCommand('bash', [script, python], { timeoutMs: 300_000, onLine: (line) => out.progress(line) });
  if (result.code === 0) out.ok(`generated ${generated}`);
  else out.fail(result.stderr.trim().split('\n').slice(-2).join(' '), 'install protoc (apt-get install protobuf-compiler) or grpcio-tools');
}
