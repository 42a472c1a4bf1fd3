import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pythonStubs } from './python-stubs';
import type { HostToolInfo } from './host-tool.types';

const TOOLS: HostToolInfo[] = [
  {
    name: 'add',
    description: 'Add two numbers on the host',
    parameters: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'], additionalProperties: false },
  },
  {
    name: 'notes.save',
    description: 'Saves a "note"',
    parameters: {
      type: 'object',
      properties: { text: { type: 'string' }, level: { enum: ['low', 'high'] }, tags: { type: 'array', items: { type: 'string' } }, count: { type: 'integer' } },
      required: ['text'],
      additionalProperties: false,
    },
  },
  { name: 'free', description: '', parameters: { properties: { 'not-an-identifier': {} } } },
];

/** Runs `script` in Python with the generated module importable as host_tools. */
function python(script: string): { status: number | null; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'snakepit-stubs-'));
  try {
    writeFileSync(join(dir, 'host_tools.py'), pythonStubs(TOOLS));
    const run = spawnSync('python3', ['-c', script], { cwd: dir, encoding: 'utf8' });
    return { status: run.status, stdout: run.stdout, stderr: run.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const CONTEXT = `
import inspect, json, host_tools
class Context:
    def __init__(self): self.calls = []
    def call_host_tool(self, name, **arguments):
        self.calls.append([name, arguments]); return "sent"
ctx = Context()
def refused(fn, **kw):
    try:
        fn(ctx, **kw)
    except TypeError as error:
        return str(error)
    return None
`;

describe('pythonStubs (snakepit gen stubs)', () => {
  it('gives each host tool a typed Python function that checks its arguments before sending', () => {
    const run = python(`${CONTEXT}
out = {
  "signatures": {name: str(inspect.signature(getattr(host_tools, name))) for name in ("add", "notes_save", "free")},
  "docs": host_tools.notes_save.__doc__,
  "ok": [host_tools.add(ctx, a=1, b=2.5), host_tools.notes_save(ctx, text="t", level="high", tags=["x"])],
  "missing": refused(host_tools.add, a=1),
  "unknown": refused(host_tools.add, a=1, b=2, c=3),
  "wrong": refused(host_tools.add, a="1", b=2),
  "bool_is_not_a_number": refused(host_tools.add, a=True, b=2),
  "enum": refused(host_tools.notes_save, text="t", level="medium"),
  "calls": ctx.calls,
}
print(json.dumps(out))
`);
    expect(run.stderr).toBe('');
    const out = JSON.parse(run.stdout);
    expect(out.signatures).toEqual({
      add: '(context: Any, *, a: float, b: float) -> Any',
      notes_save: "(context: Any, *, text: str, level: Optional[Literal['low', 'high']] = None, tags: Optional[List[str]] = None, count: Optional[int] = None) -> Any",
      free: '(context: Any, **arguments: Any) -> Any',
    });
    expect(out.docs).toBe('Saves a "note"');
    expect(out.ok).toEqual(['sent', 'sent']);
    expect(out.missing).toMatch(/missing 1 required keyword-only argument: 'b'/);
    expect(out.unknown).toMatch(/unexpected keyword argument 'c'/);
    expect(out.wrong).toBe("add(): a must be a number, got str '1'");
    expect(out.bool_is_not_a_number).toMatch(/a must be a number, got bool/);
    expect(out.enum).toMatch(/level must be one of "low", "high"/);
    // Only the calls that passed were sent, with only the arguments given.
    expect(out.calls).toEqual([
      ['add', { a: 1, b: 2.5 }],
      ['notes.save', { text: 't', level: 'high', tags: ['x'] }],
    ]);
  });

  it('is the same text for the same tools, whatever their order', () => {
    expect(pythonStubs([...TOOLS].reverse())).toBe(pythonStubs(TOOLS));
  });
});
