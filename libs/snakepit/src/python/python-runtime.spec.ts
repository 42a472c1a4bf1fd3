import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findProjectRoot } from './project-root';
import { choosePython, describePython } from './python-runtime';

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

  it('resolves relative interpreter paths against the project root, and leaves bare names to PATH', () => {
    expect(choosePython({ pythonExecutable: './.venv/bin/python' }, {}, project).executable).toBe(join(project, '.venv', 'bin', 'python'));
    expect(choosePython({ python: { executable: 'python3.11' } }, {}, project).executable).toBe('python3.11');
  });

  it('describes the interpreter by its full path and where it came from', () => {
    const bin = join(project, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'python3'), '#!/bin/sh\n', { mode: 0o755 });
    expect(describePython({ executable: 'python3', source: 'PATH' }, { PATH: `/nowhere:${bin}` })).toBe(`${join(bin, 'python3')} (python3 on PATH)`);
    expect(describePython({ executable: 'python9', source: 'python.executable' }, { PATH: bin })).toBe('python9 (not found on PATH, from python.executable)');
    expect(describePython({ executable: '/opt/py', source: 'SNAKEPIT_PYTHON' })).toBe('/opt/py (from SNAKEPIT_PYTHON)');
  });
});

describe('findProjectRoot', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'snakepit-root-'));
    mkdirSync(join(root, 'app', 'dist', 'src'), { recursive: true });
    mkdirSync(join(root, 'app', 'node_modules', 'runner', 'bin'), { recursive: true });
    writeFileSync(join(root, 'app', 'package.json'), '{}');
    writeFileSync(join(root, 'app', 'node_modules', 'runner', 'package.json'), '{}');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('is the nearest directory with a package.json above the entry script, outside node_modules', () => {
    expect(findProjectRoot(join(root, 'app', 'dist', 'src', 'main.js'), '/elsewhere')).toBe(join(root, 'app'));
    expect(findProjectRoot(join(root, 'app', 'node_modules', 'runner', 'bin', 'run.js'), '/elsewhere')).toBe(join(root, 'app'));
  });

  it('is the current directory without an entry script, or without a package.json above it', () => {
    expect(findProjectRoot(undefined, '/elsewhere')).toBe('/elsewhere');
    expect(findProjectRoot(join(root, 'loose.js'), join(root, 'cwd'))).toBe(join(root, 'cwd'));
  });
});
