import { Logger } from '@nestjs/common';
import { NdArray } from '../data/nd-array';
import { SHAREABLE } from '../data/value-encoder';
import { ToolArgumentsError } from '../errors';
import { ArgumentValidator, createAjv } from './argument-validator';
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
