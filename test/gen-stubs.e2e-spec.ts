import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Injectable } from '@nestjs/common';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PythonTypeError, SnakepitEvent, SnakepitEvents, SnakepitTool, ToolRegistryService } from '@snakepit/nestjs';
import { IsNumber } from 'class-validator';
import { bootApp, rejectionOf, type TestApp } from './support/app';

const CLI = join(__dirname, '..', 'libs', 'snakepit', 'bin', 'snakepit.js');

class AddArgs {
  @IsNumber() a!: number;
  @IsNumber() b!: number;
}

@Injectable()
class Arithmetic {
  @SnakepitTool({ description: 'Adds two numbers on the host' })
  add({ a, b }: AddArgs): number {
    return a + b;
  }
}

function snakepit(args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** snakepit gen stubs: the host tools as a typed Python module, used by a real worker. */
describe('snakepit gen stubs', () => {
  let work: string;
  let app: TestApp;
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'snakepit-stubs-'));
    writeFileSync(join(work, 'package.json'), '{}');
    mkdirSync(join(work, 'python'));
    app = await bootApp(
      { adapter: 'stub_user:StubUserAdapter', poolSize: 1, pythonPath: [join(__dirname, 'fixtures', 'python'), join(work, 'python')] },
      { providers: [Arithmetic] },
    );
    await app.pool.ready();
  });
  afterAll(async () => {
    await app?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('writes a module whose functions check the arguments before a call leaves Python, and --check tells when it is stale', async () => {
    writeFileSync(join(work, 'tools.json'), JSON.stringify(app.module.get(ToolRegistryService).list()));
    const written = await snakepit(['gen', 'stubs', '--tools', 'tools.json'], work);
    expect(written).toMatchObject({ code: 0 });
    expect(written.output).toMatch(/1 tools: add/);
    const module = readFileSync(join(work, 'python', 'host_tools.py'), 'utf8');
    expect(module).toContain('def add(context: Any, *, a: float, b: float) -> Any:');
    expect(module).toContain('"""Adds two numbers on the host"""');

    // A worker calls the host tool through it, and a wrong call fails in Python: the host never sees it.
    const calls: string[] = [];
    app.module.get(SnakepitEvents).on(SnakepitEvent.HostToolCalled, ({ tool }) => calls.push(tool));
    expect(await app.pool.execute('sum_via_stubs', { a: 1, b: 2.5 })).toBe(3.5);
    const error = await rejectionOf(app.pool.execute('wrong_call'));
    expect(error).toBeInstanceOf(PythonTypeError);
    expect(error.message).toContain("add(): a must be a number, got str 'one'");
    expect(calls).toEqual(['add']);

    expect(await snakepit(['gen', 'stubs', '--tools', 'tools.json', '--check'], work)).toMatchObject({ code: 0 });
    appendFileSync(join(work, 'python', 'host_tools.py'), '# edited by hand\n');
    const stale = await snakepit(['gen', 'stubs', '--tools', 'tools.json', '--check'], work);
    expect(stale.code).toBe(1);
    expect(stale.output).toMatch(/host_tools\.py is out of date/);
    expect(stale.output).toMatch(/run "snakepit gen stubs --tools tools.json --out python\/host_tools.py"/);
  });

  it('says what is wrong with a missing or unreadable listing', async () => {
    expect(await snakepit(['gen', 'stubs'], work)).toMatchObject({ code: 2, output: expect.stringContaining('gen stubs needs --tools') });
    writeFileSync(join(work, 'bad.json'), '{"tools": 1}');
    const bad = await snakepit(['gen', 'stubs', '--tools', 'bad.json', '--out', 'python/other.py'], work);
    expect(bad.code).toBe(1);
    expect(bad.output).toMatch(/not a list of host tools/);
  });
});
