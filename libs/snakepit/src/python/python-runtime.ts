import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { inProject } from './project-root';

/** How the project gets its Python: the system's, a venv in the project, or a venv made by uv. */
export type PythonStrategy = 'system' | 'venv' | 'uv';

export interface PythonRuntimeOptions {
  /** Default "system". */
  strategy?: PythonStrategy;
  /** The interpreter to run; wins over everything but `pythonExecutable`. */
  executable?: string;
  /** The venv of the `venv` and `uv` strategies, from the project root. Default ".venv". */
  venvDir?: string;
  /** Where workers import snakepit_bridge from: `bundled` (default), the copy inside this npm
   *  package, always the version the host expects; or `installed`, the one pip installed into
   *  the interpreter (it must be the same version: a worker refuses to start otherwise). */
  bridge?: BridgeSource;
}

export type BridgeSource = 'bundled' | 'installed';

/** Where the interpreter came from, as `snakepit doctor` and start errors report it. */
export type PythonSource = 'pythonExecutable' | 'python.executable' | 'SNAKEPIT_PYTHON' | 'venv' | 'recorded by snakepit setup' | 'PATH';

export interface PythonChoice {
  /** As it is run: an absolute path, or a bare name looked up on PATH. */
  executable: string;
  source: PythonSource;
}

/** Where `snakepit setup` records the interpreter it chose, in the project root. */
export const RECORDED_PYTHON_FILE = join('.snakepit', 'python');

export function venvPython(venvDir: string): string {
  return process.platform === 'win32' ? join(venvDir, 'Scripts', 'python.exe') : join(venvDir, 'bin', 'python');
}

/**
 * The interpreter, first found wins: `pythonExecutable`, `python.executable`, $SNAKEPIT_PYTHON,
 * the project's venv (strategies `venv` and `uv`), the interpreter `snakepit setup` recorded in
 * <project root>/.snakepit/python, then `python3` on PATH. A relative path (one with a slash)
 * resolves against the project root. The library, the CLI and the sample app all use it.
 */
export function choosePython(
  options: { pythonExecutable?: string; python?: PythonRuntimeOptions },
  env: NodeJS.ProcessEnv,
  projectRoot: string,
): PythonChoice {
  const chosen = (executable: string, source: PythonSource): PythonChoice => ({
    executable: /[\\/]/.test(executable) ? inProject(projectRoot, executable) : executable,
    source,
  });
  if (options.pythonExecutable) return chosen(options.pythonExecutable, 'pythonExecutable');
  if (options.python?.executable) return chosen(options.python.executable, 'python.executable');
  if (env.SNAKEPIT_PYTHON) return chosen(env.SNAKEPIT_PYTHON, 'SNAKEPIT_PYTHON');
  const strategy = options.python?.strategy ?? 'system';
  if (strategy !== 'system') return chosen(venvPython(inProject(projectRoot, options.python?.venvDir ?? '.venv')), 'venv');
  const recorded = join(projectRoot, RECORDED_PYTHON_FILE);
  if (existsSync(recorded)) {
    const executable = readFileSync(recorded, 'utf8').trim();
    if (executable) return chosen(executable, 'recorded by snakepit setup');
  }
  return chosen('python3', 'PATH');
}

/** "/usr/bin/python3 (python3 on PATH)": the full path of the interpreter and how it was chosen,
 *  for errors that must say which Python failed. */
export function describePython(choice: PythonChoice, env: NodeJS.ProcessEnv = process.env): string {
  if (/[\\/]/.test(choice.executable)) return `${choice.executable} (from ${choice.source})`;
  const found = (env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, choice.executable)).find(isExecutable);
  const how = choice.source === 'PATH' ? '' : `, from ${choice.source}`;
  return found ? `${found} (${choice.executable} on PATH${how})` : `${choice.executable} (not found on PATH${how})`;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
