#!/usr/bin/env node
'use strict';
// The snakepit CLI: from the compiled library when there is one, else from the TypeScript
// sources (this repository, where @swc-node/register is installed).
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const built = [
  join(root, 'dist', 'libs', 'snakepit', 'cli', 'main.js'),
  join(root, 'dist', 'libs', 'snakepit', 'libs', 'snakepit', 'src', 'cli', 'main.js'),
].find((file) => existsSync(file));
const source = join(root, 'libs', 'snakepit', 'src', 'cli', 'main.ts');

function load() {
  if (built) return require(built);
  let register;
  try {
    register = require.resolve('@swc-node/register');
  } catch {
    console.error('snakepit: the library is not built. Run "npm run build" (or install @swc-node/register to run it from source).');
    process.exit(2);
  }
  // The repository's tsconfig (decorators, paths), whatever the current directory.
  process.env.SWC_NODE_PROJECT ??= join(root, 'tsconfig.json');
  require(register);
  return require(source);
}

load()
  .main(process.argv.slice(2))
  .then((code) => process.exit(code));
