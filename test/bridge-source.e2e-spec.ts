import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SNAKEPIT_VERSION, WorkerStartError } from '@snakepit/nestjs';
import { bootApp, rejectionOf, type TestApp } from './support/app';

const PYTHON = process.env.SNAKEPIT_PYTHON || 'python3';
const BRIDGE = join(__dirname, '..', 'priv', 'python');

/** A fresh venv (seeing the system's grpcio) with a copy of the bridge pip-installed at `version`. */
function venvWithBridge(dir: string, version: string): string {
  const source = join(dir, 'bridge-src');
  cpSync(BRIDGE, source, { recursive: true, filter: (path) => !/snakepit_showcase|tests|__pycache__/.test(path) });
  const init = join(source, 'snakepit_bridge', '__init__.py');
  writeFileSync(init, readFileSync(init, 'utf8').replace(/^__version__ = ".*"$/m, `__version__ = "${version}"`));
  const venv = join(dir, 'venv');
  execFileSync(PYTHON, ['-m', 'venv', '--system-site-packages', venv]);
  execFileSync(join(venv, 'bin', 'pip'), ['install', '--quiet', '--no-build-isolation', '--no-index', source], { cwd: dir });
  return join(venv, 'bin', 'python');
}

describe('where workers import the bridge from', () => {
  let dir: string;
  /** A venv whose pip-installed bridge is 0.0.1. */
  let oldBridgePython: string;
  let app: TestApp | undefined;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'snakepit-bridge-'));
    // An adapter of its own: the showcase's directory holds the repository's bridge as well.
    writeFileSync(join(dir, 'tiny_adapter.py'), 'from snakepit_bridge import BaseAdapter, tool\n\nclass Tiny(BaseAdapter):\n    @tool\n    def hello(self):\n        return "hi"\n');
    oldBridgePython = venvWithBridge(dir, '0.0.1');
  }, 120_000);
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses to start a worker whose installed bridge is another version, naming both and the interpreter', async () => {
    const python = oldBridgePython;
    app = await bootApp({ poolSize: 1, adapter: 'tiny_adapter:Tiny', pythonExecutable: python, python: { bridge: 'installed' }, pythonPath: [dir] });
    const error = await rejectionOf(app.pool.ready());
    expect(error).toBeInstanceOf(WorkerStartError);
    expect(error.pythonType).toBe('BridgeVersionMismatch');
    expect(error.message).toContain('snakepit_bridge 0.0.1');
    expect(error.message).toContain(`@snakepit/nestjs ${SNAKEPIT_VERSION}`);
    expect(error.message).toContain(`[Python: ${python} (from pythonExecutable)]`);
  });

  it('uses the bundled bridge by default, whatever the interpreter has installed', async () => {
    app = await bootApp({ poolSize: 1, pythonExecutable: oldBridgePython });
    await app.pool.ready();
    expect(await app.pool.execute('add', { a: 1, b: 2 })).toBe(3);
  });

  it('says which interpreter it ran when the bridge is not installed there', async () => {
    app = await bootApp({ poolSize: 1, pythonExecutable: PYTHON, python: { bridge: 'installed' } });
    const error = await rejectionOf(app.pool.ready());
    expect(error).toBeInstanceOf(WorkerStartError);
    expect(error.message).toMatch(/snakepit_bridge/);
    expect(error.message).toMatch(/\[Python: \S*python3\S* \(/);
  });
});
