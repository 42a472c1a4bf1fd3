#!/usr/bin/env node
'use strict';
// The snakepit CLI: from the TypeScript sources when they are here (this repository), else
// from the compiled library.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const source = join(__dirname, '..', 'libs', 'snakepit', 'src', 'cli', 'main.ts');
let cli;
if (existsSync(source)) {
  // The repository's tsconfig (decorators, paths), whatever the current directory.
  process.env.SWC_NODE_PROJECT ??= join(__dirname, '..', 'tsconfig.json');
  require('@swc-node/register');
  cli = require(source);
} else {
  cli = require(join(__dirname, '..', 'dist', 'libs', 'snakepit', 'cli', 'main.js'));
}
cli.main(process.argv.slice(2)).then((code) => process.exit(code));
