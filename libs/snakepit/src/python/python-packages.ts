import { InvalidCallError, PackageIndexUnreachableError, PackageInstallError, PythonUnavailableError } from '../errors';
import { onPath, runCommand, type CommandResult } from './run-command';

/** One requirement as found in the interpreter. */
export interface PackageState {
  /** The requirement as given, e.g. "numpy>=1.26". */
  spec: string;
  name: string;
  /** The installed version, if any. */
  installed?: string;
}

export interface PackageCheck {
  satisfied: PackageState[];
  /** Not installed at all. */
  missing: PackageState[];
  /** Installed at a version the specifier excludes. */
  outdated: PackageState[];
}

export type Installer = 'auto' | 'uv' | 'pip';

export interface EnsureOptions {
  /** `auto` (default): uv when it is on PATH, else pip. */
  installer?: Installer;
  /** Default 300 000 ms. */
  timeoutMs?: number;
  /** Extra environment for the installer (proxies, PIP_* settings...). */
  env?: Record<string, string>;
  /** Another package index. */
  indexUrl?: string;
  /** Directories (or URLs) of packages to install from. */
  findLinks?: string[];
  /** Never look at an index: only `findLinks`. */
  noIndex?: boolean;
  /** Each line the installer prints, for progress output. */
  onOutput?: (line: string) => void;
}

export interface EnsureResult {
  /** What was installed or upgraded, with the versions now present. */
  installed: PackageState[];
  alreadySatisfied: PackageState[];
}

const CHECK_TIMEOUT_MS = 60_000;
const DEFAULT_INSTALL_TIMEOUT_MS = 300_000;
const OUTPUT_TAIL_LINES = 20;
/** What pip and uv say when they cannot reach an index. */
const UNREACHABLE =
  /Failed to establish a new connection|Connection refused|Name or service not known|Temporary failure in name resolution|Network is unreachable|ConnectTimeout|Could not fetch URL|error sending request|dns error|tcp connect error/i;

/** Reads the requirements in the interpreter itself (PEP 440 and PEP 508, through `packaging`). */
const CHECK_SCRIPT = `
import json, sys
try:
    from packaging.requirements import Requirement
except ImportError:
    try:
        from pip._vendor.packaging.requirements import Requirement
    except ImportError:
        print(json.dumps({"noPackaging": True}))
        sys.exit(0)
from importlib import metadata
out = []
for spec in json.loads(sys.argv[1]):
    try:
        req = Requirement(spec)
    except Exception as exc:
        out.append({"spec": spec, "error": str(exc)})
        continue
    if req.marker is not None and not req.marker.evaluate():
        out.append({"spec": spec, "name": req.name, "skip": True})
        continue
    try:
        version = metadata.version(req.name)
    except metadata.PackageNotFoundError:
        version = None
    ok = version is not None and req.specifier.contains(version, prereleases=True)
    out.append({"spec": spec, "name": req.name, "installed": version, "ok": ok})
print(json.dumps(out))
`;

interface CheckLine {
  spec: string;
  name?: string;
  installed?: string | null;
  ok?: boolean;
  skip?: boolean;
  error?: string;
}

/**
 * The Python packages of one interpreter: what is installed (`checkInstalled`), and installing
 * what is missing or outdated (`ensure`) with uv or pip. Injectable (for the default pool's
 * interpreter), and usable on its own: `new PythonPackages('/path/to/python')`.
 */
export class PythonPackages {
  constructor(readonly python: string) {}

  /** Which of these requirements ("name", "name>=1.2", "name[extra]==2.*; python_version>'3.8'") hold. */
  async checkInstalled(specs: string[]): Promise<PackageCheck> {
    if (!Array.isArray(specs) || specs.some((spec) => typeof spec !== 'string' || !spec.trim())) {
      throw new InvalidCallError(['requirements must be an array of non-empty strings, e.g. ["numpy>=1.26"]']);
    }
    const result = await runCommand(this.python, ['-c', CHECK_SCRIPT, JSON.stringify(specs)], { timeoutMs: CHECK_TIMEOUT_MS });
    if (result.code !== 0) throw new PythonUnavailableError(this.python, this.failure(result));
    const parsed = JSON.parse(result.stdout) as CheckLine[] | { noPackaging: true };
    if (!Array.isArray(parsed)) {
      throw new PythonUnavailableError(this.python, 'it has neither the "packaging" package nor pip, so requirements cannot be checked: install one (python -m ensurepip, or uv pip install packaging)');
    }
    const lines = parsed;
    const invalid = lines.filter((line) => line.error !== undefined);
    if (invalid.length) throw new InvalidCallError(invalid.map((line) => `"${line.spec}" is not a valid requirement: ${line.error}`));
    const check: PackageCheck = { satisfied: [], missing: [], outdated: [] };
    for (const line of lines) {
      const state: PackageState = { spec: line.spec, name: line.name!, ...(line.installed ? { installed: line.installed } : {}) };
      if (line.skip || line.ok) check.satisfied.push(state);
      else if (!line.installed) check.missing.push(state);
      else check.outdated.push(state);
    }
    return check;
  }

  /** Installs what `checkInstalled` finds missing or outdated; nothing when all is there. */
  async ensure(specs: string[], options: EnsureOptions = {}): Promise<EnsureResult> {
    const before = await this.checkInstalled(specs);
    const wanted = [...before.missing, ...before.outdated].map((state) => state.spec);
    if (wanted.length === 0) return { installed: [], alreadySatisfied: before.satisfied };
    const [command, args] = await this.installCommand(wanted, options);
    const result = await runCommand(command, args, {
      timeoutMs: options.timeoutMs ?? DEFAULT_INSTALL_TIMEOUT_MS,
      env: options.env,
      onLine: options.onOutput,
    });
    const output = tail(`${result.stdout}\n${result.stderr}`);
    if (result.spawnError) throw new PackageInstallError(wanted, `cannot run ${command}: ${result.spawnError.message}`);
    if (result.timedOut) throw new PackageInstallError(wanted, `the installer did not finish within ${options.timeoutMs ?? DEFAULT_INSTALL_TIMEOUT_MS} ms (timeoutMs)`, output);
    if (result.code !== 0) {
      if (UNREACHABLE.test(output.join('\n'))) throw new PackageIndexUnreachableError(options.indexUrl ?? 'configured for the installer', output);
      if (/externally.managed/i.test(output.join('\n'))) {
        throw new PackageInstallError(wanted, `${this.python} is managed by the system (PEP 668): use a venv (python: { strategy: 'venv' }, then "snakepit setup")`, output);
      }
      throw new PackageInstallError(wanted, `${command} exited with code ${result.code}`, output);
    }
    const after = await this.checkInstalled(wanted);
    const still = [...after.missing, ...after.outdated];
    if (still.length) throw new PackageInstallError(still.map((s) => s.spec), 'the installer finished, but they are still not satisfied', output);
    return { installed: after.satisfied, alreadySatisfied: before.satisfied };
  }

  private async installCommand(specs: string[], options: EnsureOptions): Promise<[string, string[]]> {
    const installer = options.installer ?? 'auto';
    if (!['auto', 'uv', 'pip'].includes(installer)) throw new InvalidCallError([`installer must be "auto", "uv" or "pip" (got ${installer})`]);
    const useUv = installer === 'uv' || (installer === 'auto' && (await onPath('uv')));
    const flags = [
      ...(options.indexUrl ? ['--index-url', options.indexUrl] : []),
      ...(options.findLinks ?? []).flatMap((link) => ['--find-links', link]),
      ...(options.noIndex ? ['--no-index'] : []),
    ];
    if (useUv) return ['uv', ['pip', 'install', '--python', this.python, ...flags, ...specs]];
    // One retry (pip reports a refused connection only when it retries), a short socket timeout:
    // an unreachable index fails in seconds, not minutes.
    return [this.python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--retries', '1', '--timeout', '10', ...flags, ...specs]];
  }

  private failure(result: CommandResult): string {
    if (result.spawnError) return result.spawnError.message;
    if (result.timedOut) return 'it did not answer in time';
    return tail(result.stderr).join(' | ') || `exit code ${result.code}`;
  }
}

function tail(text: string): string[] {
  return text.split('\n').map((line) => line.trimEnd()).filter(Boolean).slice(-OUTPUT_TAIL_LINES);
}
