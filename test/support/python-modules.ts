import { spawnSync } from 'node:child_process';

/** Whether the workers' Python (SNAKEPIT_PYTHON, as the suites run) can import these modules. */
export function hasPythonModules(...modules: string[]): boolean {
  const python = process.env.SNAKEPIT_PYTHON ?? 'python3';
  const found = spawnSync(python, ['-c', `import ${modules.join(', ')}`], { stdio: 'ignore' }).status === 0;
  if (!found) console.warn(`[test] ${python} cannot import ${modules.join(', ')}: the tests that need them are skipped`);
  return found;
}
