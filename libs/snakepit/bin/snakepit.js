#!/usr/bin/env node
'use strict';
// The snakepit CLI. An installed package runs its compiled code (dist/); a checkout of the
// repository runs the TypeScript sources (through @swc-node/register, a dev dependency there).
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const source = join(root, 'src', 'cli', 'main.ts');
const built = join(root, 'dist', 'cli', 'main.js');

function fromSources() {
  let register;
  try {
    register = require.resolve('@swc-node/register', { paths: [root] });
  } catch {
    return undefined;
  }
  // The repository's tsconfig (decorators), whatever the current directory.
  process.env.SWC_NODE_PROJECT ??= join(root, '..', '..', 'tsconfig.json');
  require(register);
  return require(source);
}

function load() {
  const cli = existsSync(source) ? fromSources() : undefined;
  if (cli) return cli;
  if (existsSync(built)) return require(built);
  console.error(`snakepit: ${built} is missing. Reinstall @snakepit/nestjs, or in a checkout run "npm install" at the repository root.`);
  process.exit(2);
}

load()
  .main(process.argv.slice(2))
  .then((code) => process.exit(code));
