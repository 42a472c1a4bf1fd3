import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROTOCOL_VERSION } from '../bridge/wire';
import { findOrphans } from '../process/orphan-reaper';
import { ProcessRegistry } from '../process/process-registry';
import { PythonPackages, type PackageState } from '../python/python-packages';
import { bridgePaths } from '../python/bridge-paths';
import { inProject } from '../python/project-root';
import { choosePython, describePython, type BridgeSource, type PythonRuntimeOptions } from '../python/python-runtime';
import { SNAKEPIT_VERSION } from '../version';
import { bridgeRequirementsFile, readRequirements } from '../python/requirements-file';
import { resolveOptions } from '../options/resolve-options';
import type { CliConsole } from './console';
import { probePython, type PythonFacts } from './python-probe';

export interface DoctorOptions {
  projectRoot: string;
  python: PythonRuntimeOptions & { pythonExecutable?: string };
  adapter?: string;
  pythonPath: string[];
  runtimeDir?: string;
  instanceName?: string;
}

const ORDER = 'pythonExecutable, python.executable, $SNAKEPIT_PYTHON, the project venv (strategies venv and uv), .snakepit/python (snakepit setup), python3 on PATH';

/** Checks what a pool needs, one step at a time; every failure comes with its fix. */
export async function doctor(out: CliConsole, options: DoctorOptions): Promise<void> {
  const total = 6;
  const root = options.projectRoot;
  out.info(`project root: ${root}`);
  const choice = choosePython({ pythonExecutable: options.python.pythonExecutable, python: options.python }, process.env, root);
  const pythonPath = options.pythonPath.map((dir) => inProject(root, dir));
  const bridge = options.python.bridge ?? 'bundled';
  out.step(1, total, `Python interpreter (chosen in this order: ${ORDER})`);
  const facts = await probePython(choice.executable, options.adapter, pythonPath, bridge);
  if ('error' in facts) {
    out.fail(`${describePython(choice)} does not run: ${facts.error}`, 'run "snakepit setup", or set SNAKEPIT_PYTHON to a Python 3.9+ interpreter');
    return;
  }
  if (facts.versionOk) out.ok(`${facts.executable} ${facts.version}, from ${choice.source}`);
  else out.fail(`${facts.executable} is Python ${facts.version}; Snakepit needs 3.9 or newer`, 'install a newer Python and point SNAKEPIT_PYTHON at it');

  out.step(2, total, 'grpc and protobuf');
  await checkPackages(out, facts, choice.executable);

  out.step(3, total, `the bridge (${bridge}): its version and protocol match the host's`);
  checkBridge(out, facts, bridge);

  out.step(4, total, options.adapter ? `adapter ${options.adapter}` : 'adapter (none given: --adapter module:Class)');
  checkAdapter(out, facts, options);

  const resolved = resolveOptions({ adapter: 'unused:Adapter', runtimeDir: options.runtimeDir, instanceName: options.instanceName }, {}, root);
  const registry = new ProcessRegistry(resolved.runtimeDir, resolved.instanceName, 'doctor');
  out.step(5, total, `runtime directory ${registry.dir}`);
  try {
    registry.assertPrivate();
    const probe = join(registry.dir, `.doctor-${process.pid}`);
    mkdirSync(registry.dir, { recursive: true });
    writeFileSync(probe, 'ok');
    rmSync(probe);
    out.ok('private to this user, and writable');
  } catch (error) {
    out.fail((error as Error).message, 'set runtimeDir (or --runtime-dir) to a directory of yours that no one else can write');
  }

  out.step(6, total, `orphaned workers of instance "${resolved.instanceName}"`);
  try {
    const { dead, found } = findOrphans(registry);
    const pids = [...found.groups, ...found.single].map((entry) => entry.pid);
    if (pids.length === 0) out.ok(dead.length ? `${dead.length} dead run(s) recorded, no process of theirs alive` : 'none');
    else out.fail(`${pids.length} process(es) of ${dead.length} dead run(s) are alive: ${pids.join(', ')}`, 'start the application (it kills them at boot), or kill them');
  } catch (error) {
    out.fail(`cannot look: ${(error as Error).message}`, 'fix the runtime directory (step 5)');
  }
}

async function checkPackages(out: CliConsole, facts: PythonFacts, python: string): Promise<void> {
  const missing = (['grpc', 'protobuf'] as const).filter((name) => !facts[name]);
  if (missing.length) {
    out.fail(missing.map((name) => `${name}: ${facts.importErrors[name]}`).join('; '), 'run "snakepit setup", or install grpcio and protobuf for this interpreter');
    return;
  }
  const requirements = readRequirements(bridgeRequirementsFile()).specs;
  const { outdated } = await new PythonPackages(python).checkInstalled(requirements).catch(() => ({ outdated: [] as PackageState[] }));
  if (outdated.length) {
    out.fail(`too old for the bridge: ${outdated.map((p) => `${p.name} ${p.installed} (needs ${p.spec})`).join(', ')}`, 'run "snakepit setup" to upgrade them');
    return;
  }
  if (facts.importErrors.snakepit_bridge && /protobuf|gencode|descriptor/i.test(facts.importErrors.snakepit_bridge)) {
    out.fail(`grpc ${facts.grpc} and protobuf ${facts.protobuf} are installed, but the stubs do not load: ${facts.importErrors.snakepit_bridge}`, 'run "snakepit setup" to generate stubs for this protobuf');
    return;
  }
  out.ok(`grpc ${facts.grpc}, protobuf ${facts.protobuf}`);
}

function checkBridge(out: CliConsole, facts: PythonFacts, bridge: BridgeSource): void {
  if (!facts.bridge) {
    const fix = bridge === 'installed'
      ? `pip install ${bridgePaths().pythonDir} into that interpreter, or use the bundled bridge`
      : 'run "snakepit setup" (it installs the requirements)';
    return out.fail(`the bridge does not import: ${facts.importErrors.snakepit_bridge}`, fix);
  }
  const { version, protocol, file } = facts.bridge;
  if (version !== SNAKEPIT_VERSION) {
    return out.fail(`${file} is snakepit-bridge ${version}, the host is @snakepit/nestjs ${SNAKEPIT_VERSION}`, `pip install ${bridgePaths().pythonDir} into that interpreter, or use the bundled bridge (python.bridge 'bundled')`);
  }
  if (protocol !== PROTOCOL_VERSION) return out.fail(`Python speaks protocol ${protocol}, the host ${PROTOCOL_VERSION}`, 'install matching versions of @snakepit/nestjs and snakepit-bridge');
  out.ok(`snakepit-bridge ${version} (${file}), protocol ${PROTOCOL_VERSION}`);
}

function checkAdapter(out: CliConsole, facts: PythonFacts, options: DoctorOptions): void {
  if (!options.adapter) return out.ok('skipped');
  const adapter = facts.adapter;
  if (!adapter) return out.fail('not checked: the bridge does not import', 'fix step 3 first');
  if ('error' in adapter) {
    return out.fail(`${adapter.type}: ${adapter.error}`, `check the module path (--python-path ${options.pythonPath.join(' ') || '<dir>'}, from ${options.projectRoot}) and that the class extends BaseAdapter`);
  }
  out.ok(`imports; ${adapter.tools.length} tools: ${adapter.tools.join(', ')}`);
}

