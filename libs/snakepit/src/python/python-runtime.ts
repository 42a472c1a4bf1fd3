import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** How the project gets its Python: the system's, a venv in the project, or a venv made by uv. */
export type PythonStrategy = 'system' | 'venv' | 'uv';

export interface PythonRuntimeOptions {
  /** Default "system". */
  strategy?: PythonStrategy;
  /** The interpreter to run; wins over everything but `pythonExecutable`. */
  executable?: string;
  /** The venv of the `venv` and `uv` strategies, from the current directory. Default ".venv". */
  venvDir?: string;
}

/** Where the interpreter came from, as `snakepit doctor` reports it. */
export type PythonSource = 'pythonExecutable' | 'python.executable' | 'SNAKEPIT_PYTHON' | 'venv' | 'recorded by snakepit setup' | 'PATH';

export interface PythonChoice {
  executable: string;
  source: PythonSource;
}

/** Where `snakepit setup` records the interpreter it chose. */
export const RECORDED_PYTHON_FILE = join('.snakepit', 'python');

export function venvPython(venvDir: string): string {
  return process.platform === 'win32' ? join(venvDir, 'Scripts', 'python.exe') : join(venvDir, 'bin', 'python');
}

/**
 * The interpreter, first found wins: `pythonExecutable`, `python.executable`, $SNAKEPIT_PYTHON,
 * the project's venv (strategies `venv` and `uv`), the interpreter `snakepit setup` recorded in
 * .snakepit/python, then `python3` on PATH. The library, the CLI and the sample app all use it.
 */
export function choosePython(
  options: { pythonExecutable?: string; python?: PythonRuntimeOptions },
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): PythonChoice {
  if (options.pythonExecutable) return { executable: options.pythonExecutable, source: 'pythonExecutable' };
  if (options.python?.executable) return { executable: options.python.executable, source: 'python.executable' };
  if (env.SNAKEPIT_PYTHON) return { executable: env.SNAKEPIT_PYTHON, source: 'SNAKEPIT_PYTHON' };
  const strategy = options.python?.strategy ?? 'system';
  if (strategy !== 'system') return { executable: venvPython(join(cwd, options.python?.venvDir ?? '.venv')), source: 'venv' };
  const recorded = join(cwd, RECORDED_PYTHON_FILE);
  if (existsSync(recorded)) {
    const executable = readFileSync(recorded, 'utf8').trim();
    if (executable) return { executable, source: 'recorded by snakepit setup' };
  }
  return { executable: 'python3', source: 'PATH' };
}
