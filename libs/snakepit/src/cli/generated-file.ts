import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CliConsole } from './console';

export interface GeneratedFile {
  file: string;
  /** The path as the user reads it. */
  shown: string;
  text: string;
  /** Compare only: a failed step when the file is missing or differs (for CI). */
  check: boolean;
  /** The command that writes it, for the fix. */
  command: string;
  /** What it holds, for the report; `afterWrite` too, said once it is written. */
  what: string;
  afterWrite?: string;
}

/** The last step of a `gen` command: write the file, or check that it is up to date. */
export function writeGenerated(out: CliConsole, generated: GeneratedFile): void {
  const { file, shown, text, check, command, what, afterWrite } = generated;
  if (check) {
    out.step(2, 2, `${shown} is up to date`);
    const current = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
    if (current === text) out.ok(what);
    else out.fail(`${shown} ${current === undefined ? 'does not exist' : 'is out of date'}: it differs from what ${command.split(' --')[0]} writes now`, `run "${command}" (with the same options) and commit ${shown}`);
    return;
  }
  out.step(2, 2, `write ${shown}`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  out.ok(afterWrite ? `${what}; ${afterWrite}` : what);
}
