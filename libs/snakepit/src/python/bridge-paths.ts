import { existsSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';

export interface BridgePaths {
  /** The wire contract. */
  protoFile: string;
  /** Directory holding the snakepit_bridge Python package (its pip project: pyproject.toml). */
  pythonDir: string;
}

let cached: BridgePaths | undefined;

/**
 * Finds proto/ and priv/python/ by walking up from this file. An installed package has them at
 * its root, beside dist/; a checkout of the repository at the repository's root. The package
 * directory of a checkout (libs/snakepit) holds copies only while `npm pack` runs, so code
 * running from the TypeScript sources skips it and always uses the repository's own.
 */
export function bridgePaths(): BridgePaths {
  if (cached) return cached;
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const protoFile = join(dir, 'proto', 'snakepit_bridge.proto');
    const pythonDir = join(dir, 'priv', 'python');
    const sourcesOfThisDir = __dirname.startsWith(join(dir, 'src') + sep);
    if (!sourcesOfThisDir && existsSync(protoFile) && existsSync(join(pythonDir, 'snakepit_bridge'))) {
      cached = { protoFile, pythonDir };
      return cached;
    }
    if (dirname(dir) === dir) {
      throw new Error(`Cannot find proto/snakepit_bridge.proto and priv/python/ above ${__dirname}: reinstall @snakepit/nestjs`);
    }
  }
}
