import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { PythonUnavailableError } from '../errors';
import { dirname, join, relative } from 'node:path';
import { bridgePaths } from '../python/bridge-paths';
import { inProject } from '../python/project-root';
import { PythonPackages, type PackageCheck } from '../python/python-packages';
import { bridgeRequirementsFile, readRequirements } from '../python/requirements-file';
import { RECORDED_PYTHON_FILE, venvPython, type PythonStrategy } from '../python/python-runtime';
import { onPath, runCommand } from '../python/run-command';
import type { CliConsole } from './console';
import { probePython, type PythonFacts } from './python-probe';

export interface SetupOptions {
  /** Everything below resolves against it; the interpreter is recorded in it. */
  projectRoot: string;
  /** Default: `venv`, or `uv` when uv is on PATH. */
  strategy?: PythonStrategy;
  /** An interpreter to use as it is (else $SNAKEPIT_PYTHON, else the strategy decides). */
  python?: string;
  /** The interpreter a new venv is made from. Default: the first of python3 and
   *  /usr/bin/python3 that has grpc and protobuf, else python3. */
  basePython?: string;
  venvDir: string;
  /** Requirement files; default <project root>/requirements.txt when there is one. */
  requirements: string[];
  findLinks: string[];
  noIndex: boolean;
  /** Install missing packages into an interpreter outside any venv (system or global). */
  allowSystemInstall: boolean;
}

interface Runtime {
  executable: string;
  strategy: PythonStrategy;
  how: string;
}

const TOTAL = 4;
/** Tried in order for a new venv's base when none is given. */
const BASE_CANDIDATES = ['python3', '/usr/bin/python3'];

/** Finds or creates the project's Python, installs the requirements, checks the stubs, records the choice. */
export async function setup(out: CliConsole, options: SetupOptions): Promise<void> {
  out.info(`project root: ${options.projectRoot}`);
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
  const specs = requirementsOf(out, options);
  if (!specs) return;
  if (!(await install(out, options, runtime, facts, specs))) return;

  out.step(3, TOTAL, 'Python stubs of the wire contract');
  await generateStubs(out, runtime.executable);

  const recorded = join(options.projectRoot, RECORDED_PYTHON_FILE);
  out.step(4, TOTAL, `recording the interpreter in ${recorded}`);
  mkdirSync(dirname(recorded), { recursive: true });
  writeFileSync(recorded, `${facts.executable}\n`);
  out.ok(`the library, the CLI and the sample app use ${facts.executable} unless SNAKEPIT_PYTHON or an option says otherwise`);
}

async function findOrCreate(out: CliConsole, options: SetupOptions): Promise<Runtime | undefined> {
  const given = options.python ?? process.env.SNAKEPIT_PYTHON;
  if (given) {
    // A path resolves against the project root, as the library resolves it; a bare name is looked up on PATH.
    const executable = /[\\/]/.test(given) ? inProject(options.projectRoot, given) : given;
    return { executable, strategy: 'system', how: options.python ? '--python' : 'SNAKEPIT_PYTHON' };
  }
  const strategy = options.strategy ?? ((await onPath('uv')) ? 'uv' : 'venv');
  if (strategy === 'system') {
    const base = await chooseBase(options.basePython);
    return { executable: base.executable, strategy, how: `system, ${base.how}` };
  }
  const venvDir = inProject(options.projectRoot, options.venvDir);
  const shown = relative(options.projectRoot, venvDir) || venvDir;
  const executable = venvPython(venvDir);
  if (existsSync(executable)) return { executable, strategy, how: `${strategy}, the existing ${shown}` };
  const base = await chooseBase(options.basePython);
  // A system grpcio (Debian's python3-grpcio, say) serves the venv through the system's site
  // packages; otherwise the venv stays isolated and gets its own from the package index.
  const shareSystem = base.facts !== undefined && Boolean(base.facts.grpc && base.facts.protobuf);
  const flags = shareSystem ? ['--system-site-packages'] : [];
  // --seed: uv's venvs have no pip otherwise, and checking the requirements needs it (or packaging).
  const [command, args] = strategy === 'uv'
    ? ['uv', ['venv', '--seed', ...flags, '--python', base.executable, venvDir]]
    : [base.executable, ['-m', 'venv', ...flags, venvDir]];
  out.progress(`creating ${shown} with ${command} ${args.join(' ')}`);
  out.progress(shareSystem
    ? `it sees the system's site packages, where ${base.executable} has grpcio ${base.facts!.grpc} and protobuf ${base.facts!.protobuf}`
    : `it is isolated: ${base.executable} has no grpcio and protobuf of its own to share`);
  const made = await runCommand(command, args, { timeoutMs: 300_000, onLine: (line) => out.progress(line) });
  if (made.code !== 0) {
    out.fail(`could not create ${shown}: ${made.spawnError?.message ?? made.stderr.trim().split('\n').pop()}`, strategy === 'uv' ? 'install uv, or use --strategy venv' : 'install python3-venv (Debian), or use --strategy system');
    return undefined;
  }
  return { executable, strategy, how: `${strategy}, created ${shown}` };
}

/** The given base interpreter, else the first candidate that has grpc and protobuf, else python3. */
async function chooseBase(given: string | undefined): Promise<{ executable: string; how: string; facts?: PythonFacts }> {
  if (given) {
    const facts = await probePython(given);
    return { executable: given, how: '--base-python', facts: 'error' in facts ? undefined : facts };
  }
  let first: { executable: string; how: string; facts?: PythonFacts } | undefined;
  for (const candidate of BASE_CANDIDATES) {
    const facts = await probePython(candidate);
    if ('error' in facts) continue;
    const found = { executable: facts.executable, how: `${candidate}`, facts };
    if (facts.grpc && facts.protobuf) return { ...found, how: `${candidate}, which has grpcio and protobuf` };
    first ??= found;
  }
  return first ?? { executable: 'python3', how: 'python3 on PATH' };
}

/** Installs what is missing; refuses to touch an interpreter outside a venv unless allowed. */
async function install(out: CliConsole, options: SetupOptions, runtime: Runtime, facts: PythonFacts, specs: string[]): Promise<boolean> {
  const packages = new PythonPackages(runtime.executable);
  let check: PackageCheck;
  try {
    check = await packages.checkInstalled(specs);
  } catch (error) {
    const fix = error instanceof PythonUnavailableError
      ? `give ${runtime.executable} pip (${runtime.executable} -m ensurepip), or let setup make a venv`
      : 'check the requirements';
    out.fail((error as Error).message.split('\n')[0], fix);
    return false;
  }
  const wanted = [...check.missing, ...check.outdated];
  if (wanted.length && !facts.inVenv && !options.allowSystemInstall) {
    out.fail(
      `${facts.executable} is not in a virtual environment, and it lacks ${wanted.map((p) => p.spec).join(', ')}: setup installs nothing into a system or global Python unless asked`,
      'run "snakepit setup" without --python / SNAKEPIT_PYTHON / --strategy system (it makes a project venv), or pass --allow-system-install',
    );
    return false;
  }
  try {
    const result = await packages.ensure(specs, {
      installer: runtime.strategy === 'uv' ? 'uv' : 'pip',
      findLinks: options.findLinks.map((dir) => inProject(options.projectRoot, dir)),
      noIndex: options.noIndex,
      onOutput: (line) => out.progress(line),
    });
    const installed = result.installed.map((p) => `${p.name} ${p.installed}`).join(', ') || 'nothing';
    const there = result.alreadySatisfied.map((p) => `${p.name}${p.installed ? ` ${p.installed}` : ''}`).join(', ') || 'nothing';
    out.ok(`installed: ${installed}; already there: ${there}`);
    return true;
  } catch (error) {
    out.fail((error as Error).message.split('\n')[0], facts.inVenv ? 'check the requirements and the package index' : 'use a venv: snakepit setup --strategy venv');
    return false;
  }
}

/** The bridge's requirements, then each file's (see readRequirements). */
function requirementsOf(out: CliConsole, options: SetupOptions): string[] | undefined {
  const own = join(options.projectRoot, 'requirements.txt');
  const wanted = options.requirements.length ? options.requirements : existsSync(own) ? [own] : [];
  const specs: string[] = [];
  for (const file of [bridgeRequirementsFile(), ...wanted]) {
    try {
      const read = readRequirements(inProject(options.projectRoot, file));
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
 *  this interpreter's protobuf (in a checkout of the repository; a package ships them). */
async function generateStubs(out: CliConsole, python: string): Promise<void> {
  const { protoFile, pythonDir } = bridgePaths();
  const generated = join(pythonDir, 'snakepit_bridge', 'generated', 'snakepit_bridge_pb2.py');
  const fresh = existsSync(generated) && statSync(generated).mtimeMs >= statSync(protoFile).mtimeMs;
  const facts = fresh ? await probePython(python) : undefined;
  const loads = facts !== undefined && !('error' in facts) && facts.bridge !== undefined;
  if (fresh && loads) return out.ok('up to date');
  const script = join(dirname(dirname(protoFile)), 'scripts', 'gen-python-stubs.sh');
  if (!existsSync(script)) {
    const why = facts && !('error' in facts) ? facts.importErrors.snakepit_bridge : 'they are missing or older than the proto';
    return out.fail(`the stubs in ${generated} do not load with ${python}: ${why}`, 'reinstall @snakepit/nestjs (its stubs ship with it), or install a protobuf runtime they load with (protobuf>=3.20)');
  }
  if (existsSync(generated)) rmSync(generated); // stale or built for another protobuf
  const result = await runCommand('bash', [script, python], { timeoutMs: 300_000, onLine: (line) => out.progress(line) });
  if (result.code === 0) out.ok(`generated ${generated}`);
  else out.fail(result.stderr.trim().split('\n').slice(-2).join(' '), 'install protoc (apt-get install protobuf-compiler) or grpcio-tools');
}
