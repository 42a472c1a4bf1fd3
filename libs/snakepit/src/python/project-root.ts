import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';

/**
 * The directory that relative paths in the options resolve against (pythonPath, python.venvDir,
 * a relative interpreter path, runtimeDir) and where `snakepit setup` records the interpreter
 * (.snakepit/python): the nearest directory with a package.json above `start`, outside
 * node_modules. The library starts from the application's entry script (`node dist/main.js`
 * → the app's root, whatever the current directory); the CLI from the current directory.
 * Without a package.json above it: the current directory.
 */
export function findProjectRoot(start: string | undefined, cwd = process.cwd()): string {
  if (!start) return cwd;
  let dir = resolve(cwd, start);
  // Tools that start the app from their own package (a test runner, a process manager) live in
  // node_modules: look above it.
  const inModules = dir.indexOf(`${sep}node_modules${sep}`);
  if (inModules >= 0) dir = dir.slice(0, inModules);
  for (; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return cwd;
  }
}

/** `path` against the project root, unless it is absolute. */
export function inProject(root: string, path: string): string {
  return isAbsolute(path) ? path : resolve(root, path);
}
