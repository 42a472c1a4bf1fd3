import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bridgePaths } from './bridge-paths';

/** The bridge's own requirements file (priv/python/requirements.txt). */
export function bridgeRequirementsFile(): string {
  return join(bridgePaths().pythonDir, 'requirements.txt');
}

/**
 * The requirements of a pip requirements file: comments and blank lines left out, "\" line
 * continuations joined, inline options ("--hash=…") dropped; whole-line options ("-r other.txt",
 * "--index-url …") come back in `skipped`. Throws when the file cannot be read.
 */
export function readRequirements(file: string): { specs: string[]; skipped: string[] } {
  const specs: string[] = [];
  const skipped: string[] = [];
  for (const raw of readFileSync(file, 'utf8').replace(/\\\r?\n/g, ' ').split('\n')) {
    const line = raw.replace(/(^|\s)#.*$/, '').replace(/\s--?[a-z-]+(=\S+|\s+\S+)?/g, '').trim();
    if (!line) continue;
    if (line.startsWith('-')) skipped.push(line);
    else specs.push(line);
  }
  return { specs, skipped };
}
