import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { choosePython } from './python-runtime';

describe('choosePython', () => {
  let project: string;
  beforeEach(() => {
    project = mkdtempSync(join(tmpdir(), 'snakepit-python-'));
  });
  afterEach(() => rmSync(project, { recursive: true, force: true }));

  it('takes the first of: pythonExecutable, python.executable, SNAKEPIT_PYTHON, the venv, the recorded one, python3', () => {
    const env = { SNAKEPIT_PYTHON: '/env/python' };
    expect(choosePython({ pythonExecutable: '/a', python: { executable: '/b' } }, env, project)).toEqual({ executable: '/a', source: 'pythonExecutable' });
    expect(choosePython({ python: { executable: '/b', strategy: 'venv' } }, env, project)).toEqual({ executable: '/b', source: 'python.executable' });
    expect(choosePython({ python: { strategy: 'venv' } }, env, project)).toEqual({ executable: '/env/python', source: 'SNAKEPIT_PYTHON' });
    expect(choosePython({ python: { strategy: 'uv', venvDir: 'py' } }, {}, project)).toEqual({ executable: join(project, 'py', 'bin', 'python'), source: 'venv' });
    expect(choosePython({}, {}, project)).toEqual({ executable: 'python3', source: 'PATH' });
    mkdirSync(join(project, '.snakepit'));
    writeFileSync(join(project, '.snakepit', 'python'), '/recorded/python3\n');
    expect(choosePython({}, {}, project)).toEqual({ executable: '/recorded/python3', source: 'recorded by snakepit setup' });
    expect(choosePython({ python: { strategy: 'venv' } }, {}, project).source).toBe('venv');
  });
});
