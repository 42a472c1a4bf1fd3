import { join } from 'node:path';
import { InvalidCallError, NdArray, PythonTypeError, SessionService, ToolArgumentsError, ToolRegistryService } from '@snakepit/nestjs';
import { httpStatusOf } from '@snakepit/nestjs/http';
import { bootApp, rejectionOf, type TestApp } from './support/app';

/** Typed contracts: the schemas Python derives from type hints reach the host with the tools. */
describe('tool schemas from Python type hints', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await bootApp({ poolSize: 1 });
    await app.pool.ready();
  });
  afterAll(() => app?.close());

  it('arrive with every tool in listPythonTools (arguments, result, chunks of a stream)', () => {
    const tools = new Map(app.module.get(ToolRegistryService).listPythonTools().map((tool) => [tool.name, tool]));
    expect(tools.size).toBeGreaterThan(10);
    for (const tool of tools.values()) {
      expect(tool.schemas?.arguments).toMatchObject({ $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object' });
      expect(tool.schemas?.description).toBe(tool.description);
      expect(tool.schemas?.chunk !== undefined).toBe(tool.supportsStreaming);
    }
    expect(tools.get('count')!.schemas).toMatchObject({
      arguments: { properties: { n: { type: 'integer' }, delay_ms: { type: 'number', default: 0 } }, required: ['n'], additionalProperties: false },
      chunk: { type: 'object' },
    });
    expect(tools.get('add')!.schemas!.arguments).toMatchObject({ properties: { a: {}, b: {} }, required: ['a', 'b'] }); // hinted Any: open
  });
});

const FIXTURES = join(__dirname, 'fixtures', 'python');
const TYPED = 'validated_tools:ValidatedTools';

/** Host-side validation: arguments are checked against the tool's schema before the call queues. */
describe('argument validation on the host', () => {
  let app: TestApp;
  let beforeReady: Promise<unknown>;
  beforeAll(async () => {
    app = await bootApp({ poolSize: 1, adapter: TYPED, pythonPath: [FIXTURES] });
    // Sent before the pool knows its tools: checked when a worker takes it.
    beforeReady = rejectionOf(app.pool.execute('sleep', { ms: 'soon' }));
    await app.pool.ready();
  });
  afterAll(() => app?.close());

  /** Calls Python ran, and calls the pool accepted. */
  const counts = () => ({ ran: app.pool.listWorkers().reduce((sum, worker) => sum + worker.requests, 0), accepted: app.pool.stats().requests });

  it('fails a bad call with ToolArgumentsError (400) listing every bad field, and Python never runs it', async () => {
    await app.pool.execute('sleep', { ms: 1 });
    const before = counts();
    const error = await rejectionOf(app.pool.execute('sleep', { ms: 'long', extra: 1 }));
    expect(error).toBeInstanceOf(ToolArgumentsError);
    expect(error).toMatchObject({
      code: 'tool_arguments_invalid',
      tool: 'sleep',
      problems: [
        { path: 'args', message: 'must not have the property "extra"' },
        { path: 'args.ms', message: 'must be number' },
      ],
    });
    expect(error.message).toBe('Invalid arguments for "sleep": args must not have the property "extra"; args.ms must be number.');
    expect(httpStatusOf(error)).toBe(400);
    expect((await rejectionOf(app.pool.execute('sleep', {}))).problems).toEqual([{ path: 'args', message: 'must have the property "ms"' }]);
    expect(counts()).toEqual(before);
  });

  it('checks a call sent before the pool knew its tools when a worker takes it', async () => {
    expect(await beforeReady).toBeInstanceOf(ToolArgumentsError);
  });

  it('checks streams and calls in sessions too', async () => {
    const before = counts();
    const stream = app.pool.executeStream('count', { n: 'three' });
    await expect(stream.next()).rejects.toMatchObject({ name: 'ToolArgumentsError', problems: [{ path: 'args.n', message: 'must be integer' }] });
    const session = await app.module.get(SessionService).create();
    await expect(app.pool.executeInSession(session.id, 'counter', { step: 1.5 })).rejects.toBeInstanceOf(ToolArgumentsError);
    const inSession = app.pool.executeStreamInSession(session.id, 'count', { n: 2, delay_ms: 'x' });
    await expect(inSession.next()).rejects.toBeInstanceOf(ToolArgumentsError);
    expect(counts().ran).toBe(before.ran);
    await expect(app.pool.executeInSession(session.id, 'counter', { step: 2 })).resolves.toMatchObject({ counter: 2 });
  });

  it('lets bytes, typed arrays, NdArrays and Dates through their markers, and checks a dtype', async () => {
    const args = { data: Buffer.from('hi'), values: new Float32Array([1, 2]), matrix: new NdArray(new Int32Array(6), [2, 3]), when: new Date(), view: new Uint8Array(3) };
    await expect(app.pool.execute('typed', args)).resolves.toEqual({
      data: 'bytes',
      values: ['ndarray', 'float32'],
      matrix: ['ndarray', [2, 3]],
      when: 'datetime',
      view: 'bytes',
    });
    await expect(app.pool.execute('typed', { ...args, data: new ArrayBuffer(2), values: new NdArray(new Float32Array(4), [2, 2]), view: null })).resolves.toMatchObject({ view: 'NoneType' });
    const error = await rejectionOf(app.pool.execute('typed', { data: 'hi', values: new Float64Array(2), matrix: [[1, 2]], when: '2026-12-01', view: 'x' }));
    expect(error.problems.map((p: { path: string; message: string }) => `${p.path} ${p.message}`)).toEqual([
      'args.data must be bytes (a Buffer, Uint8Array, ArrayBuffer or DataView)',
      'args.values must have dtype float32 (got float64)',
      'args.matrix must be an array of numbers (a typed array or an NdArray)',
      'args.when must be a Date',
      'args.view must be bytes (a Buffer, Uint8Array, ArrayBuffer or DataView)',
      'args.view must be an array of numbers (a typed array or an NdArray)',
      'args.view must be null',
      'args.view must match one of the schemas listed for it (see the other problems at this path)',
    ]);
  });

  it('is off for a call with { validateArguments: false }: Python gets the arguments and answers for itself', async () => {
    const before = counts();
    await expect(app.pool.execute('sleep', { ms: 'long' }, { validateArguments: false })).rejects.toBeInstanceOf(PythonTypeError);
    expect(counts().ran).toBe(before.ran + 1);
    await expect(app.pool.execute('sleep', { ms: 1 }, { validateArguments: 'no' as never })).rejects.toBeInstanceOf(InvalidCallError);
  });
});

describe('argument validation off for a pool (validateArguments: false)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await bootApp({ poolSize: 1, validateArguments: false });
    await app.pool.ready();
  });
  afterAll(() => app?.close());

  it('lets bad arguments reach Python, unless a call asks for the check', async () => {
    await expect(app.pool.execute('sleep', { ms: 'long' })).rejects.toBeInstanceOf(PythonTypeError);
    await expect(app.pool.execute('sleep', { ms: 'long' }, { validateArguments: true })).rejects.toBeInstanceOf(ToolArgumentsError);
    await expect(app.pool.execute('sleep', { ms: 1 })).resolves.toMatchObject({ slept_ms: 1 });
  });
});
