#!/usr/bin/env node
'use strict';
/**
 * Builds the npm package @snakepit/nestjs in libs/snakepit.
 *
 *   node scripts/build-package.js                 compile the library into libs/snakepit/dist
 *   node scripts/build-package.js --assets        also generate the Python stubs and copy into
 *                                                 libs/snakepit what the package ships beside
 *                                                 its code (proto/, priv/python/, README, LICENSE);
 *                                                 run by `npm pack` (prepack)
 *   node scripts/build-package.js --clean-assets  remove those copies again (postpack)
 *
 * The copies exist only while a tarball is made: the sources and the tests always use the
 * repository's own proto/ and priv/python/.
 */
const { execFileSync } = require('node:child_process');
const { cpSync, existsSync, readFileSync, rmSync } = require('node:fs');
const { join } = require('node:path');

const ROOT = join(__dirname, '..');
const PACKAGE = join(ROOT, 'libs', 'snakepit');
/** What the package ships beside dist/ and bin/, from the repository root. */
const ASSETS = [
  ['proto/snakepit_bridge.proto', 'proto/snakepit_bridge.proto'],
  ['priv/python/pyproject.toml', 'priv/python/pyproject.toml'],
  ['priv/python/requirements.txt', 'priv/python/requirements.txt'],
  ['priv/python/README.md', 'priv/python/README.md'],
  ['priv/python/snakepit_bridge', 'priv/python/snakepit_bridge'],
  ['README.md', 'README.md'],
  ['LICENSE', 'LICENSE'],
];
const COPIED_ROOTS = ['proto', 'priv', 'README.md', 'LICENSE'];

function fail(message) {
  console.error(`build-package: ${message}`);
  process.exit(1);
}

function compile() {
  let tsc;
  try {
    tsc = require.resolve('typescript/bin/tsc', { paths: [ROOT] });
  } catch {
    fail('TypeScript is not installed: run "npm install" at the repository root first.');
  }
  rmSync(join(PACKAGE, 'dist'), { recursive: true, force: true });
  execFileSync(process.execPath, [tsc, '-p', join(PACKAGE, 'tsconfig.lib.json')], { stdio: 'inherit' });
  console.log('build-package: compiled libs/snakepit/dist');
}

function python() {
  if (process.env.SNAKEPIT_PYTHON) return process.env.SNAKEPIT_PYTHON;
  const recorded = join(ROOT, '.snakepit', 'python');
  return existsSync(recorded) ? readFileSync(recorded, 'utf8').trim() : 'python3';
}

function copyAssets() {
  try {
    execFileSync('bash', [join(ROOT, 'scripts', 'gen-python-stubs.sh'), python()], { stdio: 'inherit' });
  } catch {
    fail('the package ships the Python stubs, and they could not be generated (see above). Run "make setup" first.');
  }
  cleanAssets();
  for (const [from, to] of ASSETS) {
    const source = join(ROOT, from);
    if (!existsSync(source)) fail(`${from} is missing`);
    cpSync(source, join(PACKAGE, to), {
      recursive: true,
      filter: (path) => !/(^|[\\/])(__pycache__|\.pytest_cache)([\\/]|$)|\.pyc$/.test(path),
    });
  }
  console.log(`build-package: copied ${ASSETS.map(([from]) => from).join(', ')} into libs/snakepit`);
}

function cleanAssets() {
  for (const entry of COPIED_ROOTS) rmSync(join(PACKAGE, entry), { recursive: true, force: true });
}

const args = process.argv.slice(2);
if (args.includes('--clean-assets')) {
  cleanAssets();
} else {
  compile();
  if (args.includes('--assets')) copyAssets();
}
