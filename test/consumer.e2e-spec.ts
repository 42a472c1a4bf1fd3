/**
 * The library as another repository gets it: `npm pack`, then a Nest app of its own in a
 * temporary directory outside this repository (one CommonJS, one ESM, as `nest new` makes
 * them), installed from the tarball and the local npm cache only, type-checked, and started
 * from yet another working directory with a Python adapter of its own.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { offlineInstallFiles } from './support/offline-lockfile';
import { readmeSources } from './support/readme-blocks';
import { eventually, processesWithEnv, workersOfRun } from './support/processes';

const ROOT = join(__dirname, '..');
const TEMPLATE = join(__dirname, 'consumer', 'app');
const PYTHON = process.env.SNAKEPIT_PYTHON || 'python3';
/** What the app depends on beside the tarball, as `nest new` and the README's install line have it. */
const DEPENDENCIES = [
  '@nestjs/common',
  '@nestjs/core',
  '@nestjs/platform-express',
  '@nestjs/terminus',
  'reflect-metadata',
  'rxjs',
  'class-validator',
  'class-transformer',
  'prom-client',
  // Remote pools (the README's "Beyond one machine"): the broker client and the Redis store.
  '@nestjs/microservices',
  '@nats-io/transport-node',
  'ioredis',
  'typescript',
  '@types/node',
  // For the README's blocks.
  '@nestjs/testing',
  '@types/express',
];

/** tsconfig.json of `nest new` (its CommonJS and ESM templates share it). */
const TSCONFIG = {
  compilerOptions: {
    module: 'nodenext',
    moduleResolution: 'nodenext',
    resolvePackageJsonExports: true,
    esModuleInterop: true,
    isolatedModules: true,
    declaration: true,
    removeComments: true,
    emitDecoratorMetadata: true,
    experimentalDecorators: true,
    allowSyntheticDefaultImports: true,
    target: 'ES2023',
    sourceMap: true,
    outDir: './dist',
    rootDir: '.',
    skipLibCheck: true,
    strict: true,
    strictPropertyInitialization: false,
    types: ['node'],
  },
  include: ['src/**/*.ts'],
};

interface Ran {
  status: number | null;
  output: string;
}

function run(command: string, args: string[], options: { cwd: string; env?: Record<string, string | undefined> }): Ran {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];
  const result = spawnSync(command, args, { cwd: options.cwd, env, encoding: 'utf8', timeout: 240_000 });
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}` };
}

function mustRun(command: string, args: string[], options: { cwd: string; env?: Record<string, string | undefined> }): string {
  const result = run(command, args, options);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} (in ${options.cwd}) exited ${result.status}:\n${result.output}`);
  return result.output;
}

describe('the package, installed in an app of its own', () => {
  let work: string;
  let tarball: string;
  let manifest: Record<string, unknown> & { name: string; version: string };
  const started: ChildProcess[] = [];

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'snakepit-consumer-'));
    mustRun('npm', ['pack', '-w', '@snakepit/nestjs', '--pack-destination', work, '--loglevel=error'], { cwd: ROOT });
    tarball = join(work, readdirSync(work).find((file) => file.endsWith('.tgz'))!);
    manifest = JSON.parse(mustRun('tar', ['-xzOf', tarball, 'package/package.json'], { cwd: work }));
  }, 240_000);

  afterAll(() => {
    for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  });

  it('ships the compiled library, the proto, the Python bridge with its stubs and the CLI, and nothing else', () => {
    const files = mustRun('tar', ['-tzf', tarball], { cwd: work }).trim().split('\n').map((file) => file.replace(/^package\//, ''));
    for (const needed of [
      'package.json',
      'README.md',
      'LICENSE',
      'bin/snakepit.js',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/health/index.js',
      'dist/http/index.js',
      'dist/metrics/index.js',
      'dist/remote/index.js',
      'dist/testing/index.js',
      'dist/setup/index.js',
      'dist/cli/main.js',
      'proto/snakepit_bridge.proto',
      'priv/python/pyproject.toml',
      'priv/python/snakepit_bridge/__init__.py',
      'priv/python/snakepit_bridge/py.typed',
      'priv/python/snakepit_bridge/generated/snakepit_bridge_pb2.py',
    ]) {
      expect(files).toContain(needed);
    }
    const strays = files.filter((file) => /(^|\/)(test|tests|bench|apps|src|__pycache__|snakepit_showcase)\//.test(file) || /\.spec\.|\.pyc$|(?<!\.d)\.ts$/.test(file));
    expect(strays).toEqual([]);
    expect(manifest).toMatchObject({ name: '@snakepit/nestjs', peerDependencies: expect.objectContaining({ '@nestjs/core': expect.any(String) }) });
    expect(Object.keys(manifest.dependencies as object)).not.toContain('@nestjs/core');
  });

  /** Writes the app (and `extra` files), installs it offline and type-checks it (tsc also builds it into dist/). */
  function createApp(flavor: 'commonjs' | 'module', extra: (app: string) => Record<string, string> = () => ({})): string {
    const app = join(work, `${flavor}-app`);
    mkdirSync(app);
    cpSync(join(TEMPLATE, 'src'), join(app, 'src'), { recursive: true });
    cpSync(join(TEMPLATE, 'python'), join(app, 'python'), { recursive: true });
    for (const [file, text] of Object.entries(extra(app))) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, text);
    }
    const files = offlineInstallFiles({ name: `consumer-${flavor}`, type: flavor }, DEPENDENCIES, {
      spec: `file:${tarball}`,
      manifest: manifest as never,
    });
    writeFileSync(join(app, 'package.json'), JSON.stringify(files.packageJson, null, 2));
    writeFileSync(join(app, 'package-lock.json'), JSON.stringify(files.packageLock, null, 2));
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
    mustRun('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: app });
    mustRun(process.execPath, [join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: app });
    return app;
  }

  /** Starts the built app from `cwd` (not its own directory) and waits until it listens. */
  async function startApp(app: string, cwd: string, env: Record<string, string | undefined>) {
    const token = `consumer-${process.pid}-${Date.now()}`;
    const childEnv: NodeJS.ProcessEnv = { ...process.env, PORT: '0', CONSUMER_TOKEN: token, ...env };
    for (const [key, value] of Object.entries(childEnv)) if (value === undefined) delete childEnv[key];
    const child = spawn(process.execPath, [join(app, 'dist', 'src', 'main.js')], { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    started.push(child);
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    await eventually(() => /LISTENING /.test(output) || child.exitCode !== null, 60_000, 'the app to listen');
    if (!/LISTENING /.test(output)) throw new Error(`the app did not start:\n${output}`);
    const url = /LISTENING (\S+)/.exec(output)![1].replace('[::1]', '127.0.0.1');
    return { child, url, token, exited, output: () => output };
  }

  /** A call (from workers that imported the bridge from `bridgeDir`), a session call, a stream, a
   *  host tool, an error, health and metrics, then SIGTERM. */
  async function exercise(app: Awaited<ReturnType<typeof startApp>>, bridgeDir: string): Promise<void> {
    const post = async (path: string, body: unknown = {}) => {
      const response = await fetch(`${app.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: response.status, body: (await response.json()) as any };
    };
    expect(await post('/execute/double', { x: 21 })).toMatchObject({ status: 200, body: { result: { result: 42, bridge: join(bridgeDir, 'snakepit_bridge') } } });
    const session = await post('/sessions');
    expect(session.status).toBe(201);
    await post(`/sessions/${session.body.id}/execute/visits`);
    expect(await post(`/sessions/${session.body.id}/execute/visits`)).toEqual({ status: 200, body: { result: 2 } });
    const events = await fetch(`${app.url}/stream/count?n=3`).then((r) => r.text());
    expect([...events.matchAll(/^event: (\w+)$/gm)].map((m) => m[1])).toEqual(['chunk', 'chunk', 'end']);
    expect(await post('/execute/greet_via_host', { name: 'Ada' })).toEqual({ status: 200, body: { result: 'Hello, Ada' } });
    expect(await post('/execute/no_such_tool')).toMatchObject({ status: 404, body: { error: { code: 'unknown_tool' } } });
    // The library's filter: a Python ValueError is a 422, without the traceback unless asked.
    const refused = await post('/execute/refuse', { value: 'x' });
    expect(refused).toEqual({ status: 422, body: { error: { code: 'python_value_error', message: "cannot use 'x'", pythonType: 'ValueError' } } });
    const health = await fetch(`${app.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', details: { snakepit: { status: 'up' } } });
    expect(await fetch(`${app.url}/metrics`).then((r) => r.text())).toMatch(/^snakepit_execution_seconds_count\{pool="default",tool="double"\} 1$/m);
    const { runId } = (await fetch(`${app.url}/run-id`).then((r) => r.json())) as { runId: string };
    expect(workersOfRun(runId)).toHaveLength(2);

    app.child.kill('SIGTERM');
    const exit = await app.exited;
    expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true);
    expect(app.output()).not.toMatch(/ERROR|two copies of @nestjs\/core/);
    await eventually(() => workersOfRun(runId).length === 0 && processesWithEnv(`CONSUMER_TOKEN=${app.token}`).length === 0, 5000, 'no process left');
  }

  it('a CommonJS app: set up with the CLI, type-checked, run from another directory', async () => {
    const app = createApp('commonjs');
    const snakepit = (args: string[], cwd: string) => mustRun('npx', ['--no-install', 'snakepit', ...args], { cwd, env: { SNAKEPIT_PYTHON: undefined } });
    // The project's own venv, made by the installed CLI (run from a subdirectory) from an interpreter that has grpcio.
    const setup = snakepit(['setup', '--base-python', PYTHON, '--no-index'], join(app, 'src'));
    expect(setup).toContain(`project root: ${app}`);
    expect(readFileSync(join(app, '.snakepit', 'python'), 'utf8').trim()).toBe(join(app, '.venv', 'bin', 'python'));
    const doctor = snakepit(['doctor', '--adapter', 'consumer_tools.adapter:ConsumerAdapter', '--python-path', 'python', '--runtime-dir', join(work, 'run')], app);
    expect(doctor).toMatch(/ok: .*\.venv\/bin\/python .*from recorded by snakepit setup/);
    expect(doctor).toMatch(/ok: imports; 5 tools: count, double, greet_via_host, refuse, visits/);
    const generated = snakepit(['gen', 'adapter', 'Scorer', '--dir', 'python'], app);
    expect(generated).toContain("adapter: 'scorer.adapter:ScorerAdapter'");
    // Its "Test it" line names the bridge inside this app's node_modules.
    expect(generated).toContain(`PYTHONPATH=${join(app, 'node_modules', '@snakepit', 'nestjs', 'priv', 'python')}:.`);
    mustRun(join(app, '.venv', 'bin', 'python'), ['-m', 'unittest', 'scorer.test_adapter'], {
      cwd: join(app, 'python'),
      env: { PYTHONPATH: `${join(app, 'node_modules', '@snakepit', 'nestjs', 'priv', 'python')}:.` },
    });
    expect(mustRun(process.execPath, [join(app, 'dist', 'src', 'fake-pool-check.js')], { cwd: work })).toContain('FAKE 42 1');
    // The exports map is not all: an older tsconfig (node10 resolution) finds the subpaths' types too.
    writeFileSync(join(app, 'tsconfig.node10.json'), JSON.stringify({ extends: './tsconfig.json', compilerOptions: { module: 'commonjs', moduleResolution: 'node10', resolvePackageJsonExports: false, ignoreDeprecations: '6.0', noEmit: true } }));
    mustRun(process.execPath, [join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.node10.json'], { cwd: app });
    // No SNAKEPIT_PYTHON: the app finds the interpreter setup recorded, from its project root.
    await exercise(await startApp(app, work, { SNAKEPIT_PYTHON: undefined }), join(app, 'node_modules', '@snakepit', 'nestjs', 'priv', 'python'));
  }, 240_000);

  it('an ESM app, with the bridge pip-installed into a fresh venv (and the README’s TypeScript compiled in it)', async () => {
    const app = createApp('module', (dir) => readmeSources(join(dir, 'src', 'readme')));
    const venv = join(work, 'pip-venv');
    mustRun(PYTHON, ['-m', 'venv', '--system-site-packages', venv], { cwd: work });
    const bridgeDir = join(app, 'node_modules', '@snakepit', 'nestjs', 'priv', 'python');
    // Without a package index here: setuptools comes from the venv itself.
    mustRun(join(venv, 'bin', 'pip'), ['install', '--no-build-isolation', '--no-index', bridgeDir], { cwd: work });
    const imported = mustRun(join(venv, 'bin', 'python'), ['-c', 'import os, snakepit_bridge as b; print(b.__version__, os.path.dirname(b.__file__), os.path.exists(os.path.join(os.path.dirname(b.__file__), "py.typed")))'], { cwd: work });
    expect(imported.trim()).toBe(`${manifest.version} ${join(venv, 'lib')}${imported.trim().split(' ')[1].slice(join(venv, 'lib').length)} True`);
    expect(imported).toContain('site-packages/snakepit_bridge');
    expect(mustRun(process.execPath, [join(app, 'dist', 'src', 'fake-pool-check.js')], { cwd: work })).toContain('FAKE 42 1');
    const sitePackages = dirname(imported.trim().split(' ')[1]);
    await exercise(await startApp(app, work, { SNAKEPIT_PYTHON: join(venv, 'bin', 'python'), CONSUMER_BRIDGE: 'installed' }), sitePackages);
  }, 240_000);
});
