import { Logger } from '@nestjs/common';
import { NdArray } from '../data/nd-array';
import { SHAREABLE } from '../data/value-encoder';
import { InvalidCallError, ToolArgumentsError } from '../errors';
import { defaultBehaviour, fakePoolSetup, NO_HOST, settleDown } from '../../test-support/fake-worker';
import { ArgumentValidator, createAjv } from './argument-validator';
import { Pool } from './pool';
import { ToolCatalog } from './tool-catalog';
import type { JsonSchema, PythonToolInfo } from './worker.types';

const DIALECT = 'https://json-schema.org/draft/2020-12/schema';

function validator(properties: Record<string, unknown>, required: string[] = [], extra: Record<string, unknown> = {}): ArgumentValidator {
  return ArgumentValidator.compile(createAjv(), 'tool', { $schema: DIALECT, type: 'object', properties, required, additionalProperties: false, ...extra });
}

function problemsOf(check: ArgumentValidator, args: unknown): string[] {
  try {
    check.assert(args);
  } catch (error) {
    expect(error).toBeInstanceOf(ToolArgumentsError);
    const e = error as ToolArgumentsError;
    expect(e.code).toBe('tool_arguments_invalid');
    expect(e.message).toContain(e.problems.map((p) => `${p.path} ${p.message}`).join('; '));
    return e.problems.map((p) => `${p.path} ${p.message}`);
  }
  return [];
}

function tool(name: string, args: JsonSchema | undefined): PythonToolInfo {
  return { name, description: '', supportsStreaming: false, parameters: [], schemas: args && { arguments: args, result: {}, description: '' } };
}

describe('ArgumentValidator (host-side checks of a tool\'s arguments)', () => {
  const count = validator({ n: { type: 'integer' }, delay_ms: { type: 'number', default: 0 } }, ['n']);

  it('passes arguments that match, and treats undefined arguments as {}', () => {
    expect(problemsOf(count, { n: 3 })).toEqual([]);
    expect(problemsOf(count, { n: 3, delay_ms: 1.5 })).toEqual([]);
    expect(problemsOf(validator({ x: {} }), undefined)).toEqual([]);
  });

  it('lists every bad field with its path and what was expected', () => {
    expect(problemsOf(count, { n: 'three', delay_ms: 'soon', x: 1 })).toEqual([
      'args must not have the property "x"',
      'args.n must be integer',
      'args.delay_ms must be number',
    ]);
    expect(problemsOf(count, {})).toEqual(['args must have the property "n"']);
  });

  it('names nested paths (array items, odd keys) and explains enum, const and type lists', () => {
    const check = validator({
      items: { type: 'array', items: { type: 'object', properties: { 'a b': { type: ['string', 'null'] } } } },
      mode: { enum: ['fast', 'slow'] },
      one: { const: 1 },
      pair: { type: 'array', prefixItems: [{ type: 'integer' }, { type: 'string' }], minItems: 2, maxItems: 2 },
    });
    expect(problemsOf(check, { items: [{ 'a b': 'ok' }, { 'a b': 2 }], mode: 'medium', one: 2, pair: [1] })).toEqual([
      'args.items[1]["a b"] must be string or null',
      'args.mode must be one of "fast", "slow"',
      'args.one must be 1',
      'args.pair must not have fewer than 2 items',
    ]);
  });

  it('follows $ref into $defs', () => {
    const check = validator({ p: { $ref: '#/$defs/Point' } }, ['p'], {
      $defs: { Point: { title: 'Point', type: 'object', properties: { x: { type: 'number' }, y: { type: 'number' } }, required: ['x', 'y'], additionalProperties: false } },
    });
    expect(problemsOf(check, { p: { x: 1, y: 2 } })).toEqual([]);
    expect(problemsOf(check, { p: { x: 'a' } })).toEqual(['args.p must have the property "y"', 'args.p.x must be number']);
  });

  it('checks x-snakepit-type bytes: Buffer, Uint8Array, ArrayBuffer, DataView', () => {
    const check = validator({ data: { 'x-snakepit-type': 'bytes' } }, ['data']);
    for (const data of [Buffer.from('hi'), new Uint8Array(2), new ArrayBuffer(2), new DataView(new ArrayBuffer(2))]) expect(problemsOf(check, { data })).toEqual([]);
    for (const data of ['hi', [1, 2], {}, new Date()]) {
      expect(problemsOf(check, { data })).toEqual(['args.data must be bytes (a Buffer, Uint8Array, ArrayBuffer or DataView)']);
    }
  });

  it('checks x-snakepit-type ndarray (typed arrays, NdArray) and its dtype', () => {
    const any = validator({ a: { 'x-snakepit-type': 'ndarray' } });
    for (const a of [new Float64Array(2), new Int32Array(1), new NdArray(new Float32Array(4), [2, 2])]) expect(problemsOf(any, { a })).toEqual([]);
    expect(problemsOf(any, { a: [1, 2] })).toEqual(['args.a must be an array of numbers (a typed array or an NdArray)']);
    const f32 = validator({ a: { 'x-snakepit-type': 'ndarray', dtype: 'float32' } });
    expect(problemsOf(f32, { a: new Float32Array(2) })).toEqual([]);
    expect(problemsOf(f32, { a: new NdArray(new Float32Array(4), [4]) })).toEqual([]);
    expect(problemsOf(f32, { a: new Float64Array(2) })).toEqual(['args.a must have dtype float32 (got float64)']);
    expect(problemsOf(f32, { a: new NdArray(new Int32Array(2)) })).toEqual(['args.a must have dtype float32 (got int32)']);
  });

  it('checks x-snakepit-type datetime (a Date), and combines markers in anyOf', () => {
    expect(problemsOf(validator({ when: { 'x-snakepit-type': 'datetime' } }), { when: new Date() })).toEqual([]);
    expect(problemsOf(validator({ when: { 'x-snakepit-type': 'datetime' } }), { when: '2026-01-01' })).toEqual(['args.when must be a Date']);
    const view = validator({ v: { anyOf: [{ 'x-snakepit-type': 'bytes' }, { 'x-snakepit-type': 'ndarray' }] } });
    expect(problemsOf(view, { v: Buffer.from('x') })).toEqual([]);
    expect(problemsOf(view, { v: new Float32Array(1) })).toEqual([]);
    expect(problemsOf(view, { v: 'x' })).toEqual([
      'args.v must be bytes (a Buffer, Uint8Array, ArrayBuffer or DataView)',
      'args.v must be an array of numbers (a typed array or an NdArray)',
      'args.v must match one of the schemas listed for it (see the other problems at this path)',
    ]);
  });

  it('sees the arguments as they travel: undefined properties dropped, bigints as integers, toJSON() applied, SharedValues unchecked', () => {
    expect(problemsOf(count, { n: 1, x: undefined })).toEqual([]);
    expect(problemsOf(count, { n: 10n ** 20n })).toEqual([]);
    const text = validator({ s: { type: 'string' } });
    expect(problemsOf(text, { s: { toJSON: () => 'as text' } })).toEqual([]);
    class Shared {
      readonly [SHAREABLE] = true;
      readonly sharedName = 'x';
      hold() {
        return () => undefined;
      }
    }
    const shared = new Shared();
    expect(problemsOf(validator({ a: { 'x-snakepit-type': 'ndarray', dtype: 'float32' } }), { a: shared })).toEqual([]);
    expect(problemsOf(validator({ a: { type: 'integer' } }), { a: shared })).toEqual([]);
  });

  it('compiles schemas with keywords and formats it does not know (pydantic\'s, the bridge\'s) without throwing', () => {
    const check = validator({
      when: { type: 'string', format: 'date' },
      id: { type: 'string', format: 'uuid' },
      mail: { type: 'string', format: 'email' },
      tagged: { discriminator: { propertyName: 'kind' }, 'x-future': 1, examples: [1], deprecated: true },
      marked: { 'x-snakepit-type': 'something-new' },
    });
    expect(problemsOf(check, { when: '2026-01-01', id: 'not-a-uuid', mail: 'x', tagged: 1, marked: 2 })).toEqual([]);
  });
});

describe('ToolCatalog argument checks', () => {
  beforeAll(() => Logger.overrideLogger(false));

  const schema = { $schema: DIALECT, type: 'object', properties: { n: { type: 'integer' } }, required: ['n'], additionalProperties: false };

  it('compiles each tool\'s schema once, when it learns the tools', () => {
    const compile = jest.spyOn(ArgumentValidator, 'compile');
    try {
      const catalog = new ToolCatalog('p');
      catalog.learn([tool('a', schema), tool('b', schema), tool('open', undefined)]);
      expect(compile).toHaveBeenCalledTimes(2);
      for (let i = 0; i < 5; i++) catalog.assertArguments('a', { n: 1 });
      expect(() => catalog.assertArguments('b', { n: 'x' })).toThrow(ToolArgumentsError);
      catalog.assertArguments('open', { anything: true }); // no schema: unchecked
      catalog.assertArguments('missing', {}); // UnknownToolError is assertKind's
      expect(compile).toHaveBeenCalledTimes(2);
    } finally {
      compile.mockRestore();
    }
  });

  it('checks nothing before it knows the tools; compiles on first use when the pool does not check by default', () => {
    const compile = jest.spyOn(ArgumentValidator, 'compile');
    try {
      const catalog = new ToolCatalog('p', false);
      catalog.assertArguments('a', { n: 'x' });
      catalog.learn([tool('a', schema)]);
      expect(compile).not.toHaveBeenCalled();
      expect(() => catalog.assertArguments('a', { n: 'x' })).toThrow(ToolArgumentsError);
      expect(() => catalog.assertArguments('a', {})).toThrow(ToolArgumentsError);
      expect(compile).toHaveBeenCalledTimes(1);
    } finally {
      compile.mockRestore();
    }
  });

  it('skips a tool whose schema does not compile, logging it once, and still checks the others', () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const catalog = new ToolCatalog('p');
      const broken = { $schema: DIALECT, type: 'object', properties: { n: { $ref: '#/$defs/Missing' } } };
      const badPattern = { $schema: DIALECT, type: 'object', properties: { s: { type: 'string', pattern: '(?P<name>x)' } } };
      catalog.learn([tool('broken', broken), tool('pattern', badPattern), tool('good', schema)]);
      for (let i = 0; i < 3; i++) {
        catalog.assertArguments('broken', { n: 'anything' });
        catalog.assertArguments('pattern', { s: 1 });
      }
      expect(warn).toHaveBeenCalledTimes(2);
      expect(warn.mock.calls[0][0]).toContain('"broken" are not checked on the host');
      expect(() => catalog.assertArguments('good', {})).toThrow(ToolArgumentsError);
    } finally {
      warn.mockRestore();
    }
  });
});

describe('Pool argument checks (fake workers)', () => {
  beforeAll(() => Logger.overrideLogger(false));

  const addSchema = { $schema: DIALECT, type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' } }, required: ['a', 'b'], additionalProperties: false };
  const TOOLS = [tool('add', addSchema), { ...tool('count', { $schema: DIALECT, type: 'object', properties: { n: { type: 'integer' } } }), supportsStreaming: true }];

  /** A pool whose fakes report schemas; `gate`: their start waits for it. */
  function typedPool(options: Parameters<typeof fakePoolSetup>[0] = {}, gate?: Promise<void>) {
    const setup = fakePoolSetup({ poolSize: 1, ...options }, defaultBehaviour({ startup: () => gate ?? Promise.resolve() }));
    const create = setup.context.createWorker!;
    setup.context.createWorker = (...args) => {
      const worker = create(...args);
      Object.defineProperty(worker, 'tools', { value: TOOLS });
      return worker;
    };
    return { setup, pool: new Pool(setup.config, setup.context) };
  }

  it('refuses a bad call before it is accepted: no worker sees it, the pool counts no request', async () => {
    const { setup, pool } = typedPool();
    await pool.start(Promise.resolve(NO_HOST));
    await expect(pool.execute('add', { a: 1, b: 2 })).resolves.toBe(3);
    await expect(pool.execute('add', { a: 'x', c: 1 })).rejects.toMatchObject({
      name: 'ToolArgumentsError',
      problems: [
        { path: 'args', message: 'must have the property "b"' },
        { path: 'args', message: 'must not have the property "c"' },
        { path: 'args.a', message: 'must be integer' },
      ],
    });
    await expect(pool.executeStream('count', { n: 'x' }).next()).rejects.toBeInstanceOf(ToolArgumentsError);
    expect(pool.stats().requests).toBe(1);
    expect(setup.workers[0].requests).toBe(1);
    await pool.close(0, 10);
  });

  it('checks a call sent before the tools were known when a worker takes it', async () => {
    let open!: () => void;
    const { setup, pool } = typedPool({}, new Promise<void>((resolve) => (open = resolve)));
    const started = pool.start(Promise.resolve(NO_HOST));
    const bad = pool.execute('add', { a: 1 }).catch((error: unknown) => error);
    const good = pool.execute('add', { a: 1, b: 1 });
    const unchecked = pool.execute('add', { a: 1, b: 'x' }, { validateArguments: false }).catch((error: unknown) => error);
    await settleDown(5);
    open();
    await started;
    expect(await bad).toBeInstanceOf(ToolArgumentsError);
    await expect(good).resolves.toBe(2);
    await unchecked; // reached the worker (the fake adds 1 + "x")
    expect(setup.workers[0].requests).toBe(2);
    await pool.close(0, 10);
  });

  it('checks nothing with validateArguments: false for the pool, unless a call asks', async () => {
    const { pool } = typedPool({ validateArguments: false });
    await pool.start(Promise.resolve(NO_HOST));
    await expect(pool.execute('add', { a: 1, b: 2, c: 3 })).resolves.toBe(3);
    await expect(pool.execute('add', { a: 1, b: 2, c: 3 }, { validateArguments: true })).rejects.toBeInstanceOf(ToolArgumentsError);
    await expect(pool.execute('add', { a: 1, b: 2 }, { validateArguments: 1 as never })).rejects.toBeInstanceOf(InvalidCallError);
    await pool.close(0, 10);
  });
});
