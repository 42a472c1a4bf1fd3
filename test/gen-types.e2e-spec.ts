import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ts from 'typescript';

const CLI = join(__dirname, '..', 'libs', 'snakepit', 'bin', 'snakepit.js');
const PYTHON = process.env.SNAKEPIT_PYTHON || 'python3';
const FIXTURES = join(__dirname, 'fixtures');
const TYPED_CALLS = join(FIXTURES, 'typed-calls');

function snakepit(args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, SNAKEPIT_PYTHON: PYTHON }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** Type-checks files with the fixtures' tsconfig (the repository's, with @snakepit/nestjs from
 *  the sources); the diagnostics of each file, as "TS<code> <line>: <message>". */
function typeCheck(files?: string[]): Map<string, string[]> {
  const config = ts.getParsedCommandLineOfConfigFile(join(TYPED_CALLS, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(String(d.messageText)); } })!;
  const program = ts.createProgram(files ?? config.fileNames, { ...config.options, rootDir: '/' }); // files may be outside the repository
  const byFile = new Map<string, string[]>();
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const file = diagnostic.file ? diagnostic.file.fileName.split('/').pop()! : '(global)';
    const line = diagnostic.file ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start!).line + 1 : 0;
    byFile.set(file, [...(byFile.get(file) ?? []), `TS${diagnostic.code} ${line}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`]);
  }
  return byFile;
}

/** The workers a CLI run left behind (none, once it has exited). */
function workersOf(adapter: string): string[] {
  const ps = spawnSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return ps.stdout.split('\n').filter((line) => line.includes(`--adapter ${adapter}`));
}

describe('snakepit gen types', () => {
  let project: string;
  beforeAll(() => {
    project = mkdtempSync(join(tmpdir(), 'snakepit-gen-types-'));
    writeFileSync(join(project, 'package.json'), '{}');
    mkdirSync(join(project, 'py'));
    copyFileSync(join(FIXTURES, 'python', 'typed_tools.py'), join(project, 'py', 'typed_tools.py'));
  });
  afterAll(() => rmSync(project, { recursive: true, force: true }));

  const args = ['gen', 'types', '--adapter', 'typed_tools:TypedTools', '--python-path', 'py', '--out', 'src/ml-tools.ts', '--name', 'MlTools'];

  it('writes the interface of the tools through one worker, and leaves no process', async () => {
    const { code, output } = await snakepit(args, project);
    expect(output).toMatch(/\[1\/2\] the tools of typed_tools:TypedTools \(one worker\)\n\s+ok: 7 tools: anything, countdown, paint, pair, ping, predict, scale/);
    expect(output).toMatch(/\[2\/2\] write src\/ml-tools\.ts\n\s+ok: interface MlTools, 7 tools/);
    expect(code).toBe(0);
    expect(workersOf('typed_tools:TypedTools')).toEqual([]);
    const source = readFileSync(join(project, 'src', 'ml-tools.ts'), 'utf8');
    // The fixture the tsc tests below compile against is this very output (deterministic).
    expect(source).toBe(readFileSync(join(TYPED_CALLS, 'ml-tools.ts'), 'utf8'));
    expect(source).toContain("import type { NdArray, TypedArray } from '@snakepit/nestjs';");
    expect(source).toContain('export type Color = "red" | "green";');
    expect(source).toMatch(/export type Box = \{\n  label: string;\n  size: number;\n  \[key: string\]: unknown;\n\};/);
    expect(source).toMatch(/export interface MlTools \{\n  \/\*\* Open values\. \*\/\n  anything: \{/);
    expect(source).toMatch(/\/\*\* Predict a label for the features\. \*\/\n  predict: \{\n    args: \{\n      \/\*\* The input vector\. \*\/\n      features: number\[\];\n      \/\*\*\n       \* Which model to use\.\n       \* @default "small"\n       \*\/\n      model\?: string;/);
    expect(source).toContain('threshold?: number | null;');
    expect(source).toMatch(/result: \{\n      label: string;\n      score: number;\n      tags: string\[\];\n    \};/);
    expect(source).toMatch(/point: \[number, string\];\n      when: Date;\n      blob: Buffer \| Uint8Array;\n    \};\n    result: number \| string \| null;/);
    expect(source).toMatch(/ping: \{\n    args: Record<string, never>;\n    result: "pong";/);
    expect(source).toMatch(/data: NdArray<Float32Array> \| Float32Array;/);
    expect(source).toMatch(/result: NdArray \| TypedArray;/);
    expect(source).toMatch(/countdown: \{\n    args: \{\n      \/\*\* Where to start\. \*\/\n      n: number;\n    \};\n    result: unknown;\n    chunk: number;/);
    expect(source).toMatch(/extra: Record<string, number\[\]>;/);
  }, 60_000);

  it('--check: exit 0 when the file is up to date; 1 naming it when a tool changed, without writing', async () => {
    const upToDate = await snakepit([...args, '--check'], project);
    expect(upToDate.output).toMatch(/\[2\/2\] src\/ml-tools\.ts is up to date\n\s+ok: interface MlTools, 7 tools/);
    expect(upToDate.code).toBe(0);
    const before = readFileSync(join(project, 'src', 'ml-tools.ts'), 'utf8');
    appendFileSync(join(project, 'py', 'typed_tools.py'), '\n    @tool\n    def shout(self, text: str) -> str:\n        """Upper-case a text."""\n        return text.upper()\n');
    const stale = await snakepit([...args, '--check'], project);
    expect(stale.output).toMatch(/FAILED: src\/ml-tools\.ts is out of date: .*\n\s+fix: run "snakepit gen types --adapter typed_tools:TypedTools" .*commit src\/ml-tools\.ts/);
    expect(stale.code).toBe(1);
    expect(readFileSync(join(project, 'src', 'ml-tools.ts'), 'utf8')).toBe(before);
    const missing = await snakepit([...args.slice(0, -4), '--out', 'src/none.ts', '--check'], project);
    expect(missing.output).toMatch(/FAILED: src\/none\.ts does not exist/);
    expect(missing.code).toBe(1);
    const rewritten = await snakepit(args, project);
    expect(rewritten.code).toBe(0);
    expect(readFileSync(join(project, 'src', 'ml-tools.ts'), 'utf8')).toMatch(/\/\*\* Upper-case a text\. \*\/\n  shout: \{\n    args: \{\n      text: string;\n    \};\n    result: string;/);
    expect((await snakepit([...args, '--check'], project)).code).toBe(0);
    expect(workersOf('typed_tools:TypedTools')).toEqual([]);
  }, 120_000);

  it('an adapter that does not load: exit 1 with the worker\'s error and how to check it, no file, no process', async () => {
    const { code, output } = await snakepit(['gen', 'types', '--adapter', 'typed_tools_missing:Nothing', '--out', 'src/none.ts'], project);
    expect(output).toMatch(/FAILED: the worker did not start: .*ModuleNotFoundError: No module named 'typed_tools_missing'/);
    expect(output).toMatch(/fix: check it with: snakepit doctor --adapter typed_tools_missing:Nothing/);
    expect(code).toBe(1);
    expect(existsSync(join(project, 'src', 'none.ts'))).toBe(false);
    expect(workersOf('typed_tools_missing:Nothing')).toEqual([]);
  }, 60_000);

  it('the showcase adapter: the default interface name, and a module that compiles', async () => {
    const { code, output } = await snakepit(['gen', 'types', '--adapter', 'snakepit_showcase.adapter:ShowcaseAdapter', '--python-path', join(__dirname, '..', 'priv', 'python'), '--out', 'src/showcase.ts'], project);
    expect(output).toMatch(/ok: interface ShowcaseTools, \d+ tools/);
    expect(code).toBe(0);
    const source = readFileSync(join(project, 'src', 'showcase.ts'), 'utf8');
    expect(source).toMatch(/^\/\/ Generated by `snakepit gen types --adapter snakepit_showcase\.adapter:ShowcaseAdapter` from the Python tools' JSON Schemas\./);
    expect(source).toMatch(/bytes_of: \{\n    args: \{\n      n: number;\n      \/\*\* @default 0 \*\/\n      fill\?: number;\n    \};\n    result: Buffer \| Uint8Array;/);
    expect(typeCheck([join(project, 'src', 'showcase.ts')])).toEqual(new Map());
    expect((await snakepit(['gen', 'types'], project)).code).toBe(2); // no --adapter
  }, 120_000);
});

describe('typed calls: tsc on fixtures', () => {
  let diagnostics: Map<string, string[]>;
  beforeAll(() => {
    diagnostics = typeCheck();
  }, 120_000);

  it('compiles typed calls (results and chunks inferred) and untyped ones as before', () => {
    expect(diagnostics.get('compiles.ts')).toBeUndefined();
    expect(diagnostics.get('ml-tools.ts')).toBeUndefined();
  });

  it('a misspelled tool fails', () => {
    expect(diagnostics.get('fail-tool-name.ts')).toEqual([expect.stringMatching(/^TS2345 5: Argument of type '"predcit"' is not assignable to parameter of type '.*"predict".*'\.$/)]);
  });

  it('an argument of the wrong type fails', () => {
    expect(diagnostics.get('fail-argument-type.ts')).toEqual([
      "TS2322 5: Type 'string' is not assignable to type 'number'.",
      "TS2322 5: Type 'string' is not assignable to type 'number'.",
    ]);
  });

  it('a missing required argument fails, and so do missing arguments', () => {
    expect(diagnostics.get('fail-missing-argument.ts')).toEqual([
      expect.stringMatching(/^TS2345 5: Argument of type '\{ model: string; \}' is not assignable .*\n\s*Property 'features' is missing in type/),
      'TS2554 6: Expected 2-3 arguments, but got 1.',
    ]);
  });

  it('a result used as the wrong type fails', () => {
    expect(diagnostics.get('fail-result-type.ts')).toEqual(["TS2322 6: Type 'string' is not assignable to type 'number'."]);
  });

  it('streaming a tool that does not stream fails, and so does a chunk used as the wrong type', () => {
    expect(diagnostics.get('fail-stream-tool.ts')).toEqual([
      "TS2345 6: Argument of type '\"predict\"' is not assignable to parameter of type '\"countdown\"'.",
      "TS2322 8: Type 'number' is not assignable to type 'string'.",
    ]);
  });

  it('no other file has diagnostics', () => {
    expect([...diagnostics.keys()].sort()).toEqual(['fail-argument-type.ts', 'fail-missing-argument.ts', 'fail-result-type.ts', 'fail-stream-tool.ts', 'fail-tool-name.ts']);
  });
});
