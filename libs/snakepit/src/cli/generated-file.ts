import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CliConsole } from './console';

/**
 * Writes a generated file, or with `check` only compares: exit code 0 when it was written or is
 * up to date, 1 when `check` finds it missing or different (for CI: run `command` again).
 */
export function writeGenerated(out: CliConsole, path: string, text: string, check: boolean, command: string): number {
  const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  if (check) {
    if (current === text) {
      out.info(`${path} is up to date`);
      return 0;
    }
    out.info(`${path} is ${current === undefined ? 'missing' : 'out of date'}: run ${command} to write it again`);
    return 1;
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  out.info(`wrote ${path}`);
  return 0;
}
