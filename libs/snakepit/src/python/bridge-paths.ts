import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface BridgePaths {
  /** The wire contract. */
  protoFile: string;
  /** Directory holding the snakepit_bridge Python package (and the showcase adapter). */
  pythonDir: string;
}

let cached: BridgePaths | undefined;

/** Finds proto/ and priv/python/ by walking up from this file, so it works from sources and builds alike. */
export function bridgePaths(): BridgePaths {
  if (cached) return cached;
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const protoFile = join(dir, 'proto', 'snakepit_bridge.proto');
    const pythonDir = join(dir, 'priv', 'python');
    if (existsSync(protoFile) && existsSync(join(pythonDir, 'snakepit_bridge'))) {
      cached = { protoFile, pythonDir };
      return cached;
    }
    if (dirname(dir) === dir) {
      throw new Error(`Cannot find proto/snakepit_bridge.proto and priv/python/ above ${__dirname}`);
    }
  }
}
