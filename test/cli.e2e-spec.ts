import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildWheel } from './support/wheel';

const CLI = join(__dirname, '..', 'libs', 'snakepit', 'bin', 'snakepit.js');
const PYTHON = process.env.SNAKEPIT_PYTHON || 'python3';
const BRIDGE = join(__dirname, '..', 'priv', 'python');

/** Runs `snakepit …` as a user would: a child process, its output and exit code. */
function snakepit(args: string[], options: { cwd: string; env?: Record<string, string | undefined> }): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, ...options.env };
    for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];
    const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('the snakepit CLI', () => {
  let project: string;
  beforeEach(() => {
    project = mkdtempSync(join(tmpdir(), 'snakepit-cli-'));
  });
  afterEach(() => rmSync(project, { recursive: true, force: true }));

  it('prints its usage, and refuses unknown commands with exit code 2', async () => {
    const help = await snakepit(['--help'], { cwd: project });
    expect(help.code).toBe(0);
    expect(help.output).toMatch(/snakepit setup .*snakepit doctor .*snakepit gen adapter <Name>/s);
    const unknown = await snakepit(['deploy'], { cwd: project });
    expect(unknown.code).toBe(2);
    expect(unknown.output).toMatch(/^unknown command: deploy/);
    expect((await snakepit(['doctor', '--strategy', 'conda'], { cwd: project })).code).toBe(2);
  });

  it('doctor: checks everything and names the adapter\'s tools, exit 0', async () => {
    const { code, output } = await snakepit(['doctor', '--adapter', 'snakepit_showcase.adapter:ShowcaseAdapter', '--runtime-dir', join(project, 'run')], {
      cwd: project,
      env: { SNAKEPIT_PYTHON: PYTHON },
    });
    expect(code).toBe(0);
    expect(output).toMatch(/\[1\/6\] Python interpreter.*\n\s+ok: .* 3\.\d+\.\d+, from SNAKEPIT_PYTHON/);
    expect(output).toMatch(/ok: grpc \d+\.\d+.*, protobuf \d+\.\d+/);
    expect(output).toMatch(/\[3\/6\] the bridge \(bundled\).*\n\s+ok: snakepit-bridge \d+\.\d+\.\d+ \(.*snakepit_bridge.*\), protocol 3/);
    expect(output).toMatch(/ok: imports; \d+ tools: add, add_via_host/);
    expect(output).toMatch(/\[6\/6\] orphaned workers.*\n\s+ok: none/);
  });

  it('doctor: each failure with its fix, exit 1', async () => {
    const badPython = await snakepit(['doctor'], { cwd: project, env: { SNAKEPIT_PYTHON: join(project, 'no-python') } });
    expect(badPython.code).toBe(1);
    expect(badPython.output).toMatch(/FAILED: \S*no-python \(from SNAKEPIT_PYTHON\) does not run.*\n\s+fix: run "snakepit setup"/);
    const badAdapter = await snakepit(['doctor', '--adapter', 'nowhere.adapter:Missing', '--runtime-dir', join(project, 'run')], {
      cwd: project,
      env: { SNAKEPIT_PYTHON: PYTHON },
    });
    expect(badAdapter.code).toBe(1);
    expect(badAdapter.output).toMatch(/FAILED: ModuleNotFoundError: .*nowhere.*\n\s+fix: check the module path/);
    expect(badAdapter.output).toMatch(/1 step\(s\) failed/);
  });

  it('doctor: an adapter that prints while it loads, a bad instance name, a missing requirements file', async () => {
    mkdirSync(join(project, 'noisy'));
    writeFileSync(join(project, 'noisy', '__init__.py'), '');
    writeFileSync(
      join(project, 'noisy', 'adapter.py'),
      'print("loading the model...")\nfrom snakepit_bridge import BaseAdapter, tool\n\nclass Noisy(BaseAdapter):\n    @tool\n    def hello(self):\n        return "hi"\n',
    );
    const noisy = await snakepit(['doctor', '--adapter', 'noisy.adapter:Noisy', '--python-path', '.', '--runtime-dir', join(project, 'run')], {
      cwd: project,
      env: { SNAKEPIT_PYTHON: PYTHON },
    });
    expect(noisy.output).toMatch(/ok: imports; 1 tools: hello/);
    expect(noisy.code).toBe(0);
    const badInstance = await snakepit(['doctor', '--instance', '../x'], { cwd: project, env: { SNAKEPIT_PYTHON: PYTHON } });
    expect(badInstance.code).toBe(2);
    expect(badInstance.output).toMatch(/instanceName must hold only/);
    const missing = await snakepit(['setup', '--python', PYTHON, '--requirements', 'nope.txt'], { cwd: project });
    expect(missing.code).toBe(1);
    expect(missing.output).toMatch(/FAILED: cannot read nope\.txt.*\n\s+fix: pass an existing file to --requirements/);
  });

  it('gen adapter: writes an adapter with two tools and a passing test, and how to use it', async () => {
    const generated = await snakepit(['gen', 'adapter', 'SentimentScorer', '--dir', 'py'], { cwd: project });
    expect(generated.code).toBe(0);
    expect(generated.output).toContain("adapter: 'sentiment_scorer.adapter:SentimentScorerAdapter'");
    expect(generated.output).toContain("await pool.execute('word_count'");
    const test = spawn(PYTHON, ['-m', 'unittest', 'sentiment_scorer.test_adapter'], { cwd: join(project, 'py'), env: { ...process.env, PYTHONPATH: `${BRIDGE}:.` } });
    expect(await new Promise((resolve) => test.on('close', resolve))).toBe(0);
    const doctor = await snakepit(['doctor', '--adapter', 'sentiment_scorer.adapter:SentimentScorerAdapter', '--python-path', 'py', '--runtime-dir', join(project, 'run')], {
      cwd: project,
      env: { SNAKEPIT_PYTHON: PYTHON },
    });
    expect(doctor.output).toMatch(/ok: imports; 2 tools: greet, word_count/);
    const again = await snakepit(['gen', 'adapter', 'SentimentScorer', '--dir', 'py'], { cwd: project });
    expect(again.code).toBe(1);
    expect(again.output).toMatch(/already exist.*\n\s+fix: choose another name, or pass --force/);
  });

  it('setup: installs nothing into a Python outside a venv unless asked', async () => {
    mkdirSync(join(project, 'wheels'));
    buildWheel(join(project, 'wheels'), 'demo-pkg', '1.2.0');
    writeFileSync(join(project, 'requirements.txt'), 'demo-pkg>=1.0\n');
    // The system interpreter, given as it is: it lacks demo-pkg, and setup must not pip-install into it.
    const system = await snakepit(['setup', '--python', '/usr/bin/python3', '--find-links', 'wheels', '--no-index'], { cwd: project });
    expect(system.code).toBe(1);
    expect(system.output).toMatch(/FAILED: \/usr\/bin\/python3 is not in a virtual environment, and it lacks demo-pkg>=1\.0: setup installs nothing into a system or global Python unless asked\n\s+fix: .*--allow-system-install/);
    expect(system.output).not.toMatch(/Successfully installed/);
    expect(existsSync(join(project, '.snakepit', 'python'))).toBe(false);
  }, 60_000);

  it('setup: creates a venv, installs the requirements from a local directory, records the interpreter', async () => {
    mkdirSync(join(project, 'wheels'));
    buildWheel(join(project, 'wheels'), 'demo-pkg', '1.2.0');
    writeFileSync(join(project, 'requirements.txt'), 'demo-pkg>=1.0 \\\n    --hash=sha256:0000  # the project\'s own\n');
    const { code, output } = await snakepit(['setup', '--strategy', 'venv', '--base-python', PYTHON, '--find-links', 'wheels', '--no-index'], {
      cwd: project,
      env: { SNAKEPIT_PYTHON: undefined },
    });
    expect(output).toMatch(/\[1\/4\] Python runtime\n\s+creating \.venv .*--system-site-packages.*\n\s+it sees the system's site packages, where .* has grpcio .*\n\s+ok: .*\.venv\/bin\/python 3\.\d+\.\d+ \(venv, created \.venv\)/);
    expect(output).toMatch(/Successfully installed demo-pkg-1\.2\.0/);
    expect(output).toMatch(/ok: installed: demo-pkg 1\.2\.0; already there: grpcio .*protobuf/);
    expect(output).toMatch(/\[4\/4\] recording/);
    expect(code).toBe(0);
    const recorded = readFileSync(join(project, '.snakepit', 'python'), 'utf8').trim();
    expect(recorded).toBe(join(project, '.venv', 'bin', 'python'));
    expect(existsSync(recorded)).toBe(true);
    // Doctor now finds it on its own.
    const doctor = await snakepit(['doctor', '--runtime-dir', join(project, 'run')], { cwd: project, env: { SNAKEPIT_PYTHON: undefined } });
    expect(doctor.output).toMatch(/ok: .*\.venv\/bin\/python .*, from recorded by snakepit setup/);
    expect(doctor.code).toBe(0);
  }, 120_000);
});
