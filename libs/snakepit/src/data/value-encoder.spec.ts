import { jsonTextDepth, MAX_JSON_DEPTH } from '../bridge/strict-json';
import { ndarray } from './nd-array';
import { encodeValue, pathText, ValueEncodingError } from './value-encoder';

const encode = (value: unknown) => encodeValue(value, { root: 'args' });
const tree = (value: unknown) => JSON.parse(encode(value).json);

/** The ValueEncodingError encoding `value` throws. */
function refusal(value: unknown): ValueEncodingError {
  try {
    encode(value);
  } catch (error) {
    if (error instanceof ValueEncodingError) return error;
    throw error;
  }
  throw new Error('the value was encoded');
}

describe('encodeValue: the wire form', () => {
  it('leaves plain JSON as it is, with no tags and no buffers', () => {
    const value = { a: 1, b: [true, null, 'x'], c: { d: 2.5 }, e: [], f: {} };
    expect(encode(value)).toEqual({ json: JSON.stringify(value), tags: 0, buffers: [], shared: [] });
  });

  it('sends null for undefined, and drops undefined properties as JSON does', () => {
    expect(encode(undefined).json).toBe('null');
    expect(tree({ a: undefined, b: 1 })).toEqual({ b: 1 });
  });

  it('puts bytes beside the text, uncopied, behind a tag whose first key is "$snakepit"', () => {
    const bytes = Buffer.from([1, 2, 3]);
    const encoded = encode({ data: bytes });
    expect(encoded.json).toBe('{"data":{"$snakepit":"bytes","buffer":0}}');
    expect(encoded.tags).toBe(1);
    expect(encoded.buffers).toEqual([bytes]);
    expect(encoded.buffers[0].buffer).toBe(bytes.buffer);
  });

  it('sends only the bytes a view covers', () => {
    const backing = new Float64Array([1, 2, 3, 4]);
    const encoded = encode({ middle: new Float64Array(backing.buffer, 8, 2), view: new DataView(backing.buffer, 24, 8) });
    expect(new Float64Array(encoded.buffers[0].slice().buffer)).toEqual(new Float64Array([2, 3]));
    expect(encoded.buffers[1].byteLength).toBe(8);
    expect(tree({ middle: new Float64Array(backing.buffer, 8, 2) }).middle).toEqual({ $snakepit: 'ndarray', dtype: 'float64', shape: [2], buffer: 0 });
  });

  it('tags arrays with their dtype and shape, instants in ISO form, big integers in decimal', () => {
    expect(tree(ndarray(new Int32Array(6), [2, 3]))).toEqual({ $snakepit: 'ndarray', dtype: 'int32', shape: [2, 3], buffer: 0 });
    expect(tree(ndarray(new Uint8Array([1, 0]), [2], 'bool'))).toMatchObject({ dtype: 'bool', shape: [2] });
    expect(tree(new Date('2026-01-02T03:04:05Z'))).toEqual({ $snakepit: 'datetime', iso: '2026-01-02T03:04:05.000Z' });
    expect(tree(-(2n ** 70n))).toEqual({ $snakepit: 'bigint', value: '-1180591620717411303424' });
  });

  it('counts every tag, an escaped "$snakepit" key among them', () => {
    const encoded = encode({ a: [1n, 2n], b: new Date(0), c: { $snakepit: 1 } });
    expect(encoded.tags).toBe(4);
    expect(JSON.parse(encoded.json).c).toEqual({ $snakepit: 'object', entries: [['$snakepit', 1]] });
  });

  it('encodes class instances by their own properties, and honours toJSON', () => {
    class Dto {
      constructor(readonly x = 1) {}
      get doubled() {
        return this.x * 2;
      }
    }
    const money = { toJSON: (key: string) => `12.50 EUR at ${key}` };
    expect(tree({ dto: new Dto(), price: money })).toEqual({ dto: { x: 1 }, price: '12.50 EUR at price' });
  });

  it('accepts one object reached twice (not a cycle)', () => {
    const shared = { n: 1 };
    expect(tree({ a: shared, b: [shared] })).toEqual({ a: { n: 1 }, b: [{ n: 1 }] });
  });

  it('puts binary data inside the text as base64 in "base64" mode', () => {
    const encoded = encodeValue({ data: Buffer.from('hi'), xs: new Uint16Array([1]) }, { root: 'state', binary: 'base64' });
    expect(encoded.buffers).toEqual([]);
    expect(JSON.parse(encoded.json)).toEqual({
      data: { $snakepit: 'bytes', base64: 'aGk=' },
      xs: { $snakepit: 'ndarray', dtype: 'uint16', shape: [1], base64: 'AQA=' },
    });
  });
});

describe('encodeValue refuses what JSON would silently change or drop', () => {
  const cyclic: Record<string, unknown> = { list: [] };
  (cyclic.list as unknown[]).push({ back: cyclic });

  it.each<[string, unknown, string, RegExp]>([
    ['a function', { f: () => 1 }, 'args.f', /a function/],
    ['a symbol', { s: Symbol('s') }, 'args.s', /a symbol/],
    ['NaN', { x: NaN }, 'args.x', /NaN/],
    ['Infinity', { x: [-Infinity] }, 'args.x[0]', /-Infinity/],
    ['a Map', { m: new Map() }, 'args.m', /a Map/],
    ['a Set', { s: new Set([1]) }, 'args.s', /a Set/],
    ['a RegExp', { pattern: /x/ }, 'args.pattern', /a RegExp/],
    ['an Error', { e: new Error('x') }, 'args.e', /an? Error/],
    ['a SharedArrayBuffer', { sab: new SharedArrayBuffer(8) }, 'args.sab', /SharedArrayBuffer/],
    ['undefined in an array', { xs: [1, undefined] }, 'args.xs[1]', /undefined/],
    ['an invalid Date', { when: new Date('nope') }, 'args.when', /an invalid Date/],
    ['a Date Python cannot hold', { when: new Date('+010000-01-01T00:00:00Z') }, 'args.when', /year 10000, outside the years 1 to 9999/],
    ['a cycle', cyclic, 'args.list[0].back', /cycle/],
  ])('%s, naming where it sits', (_name, value, path, problem) => {
    const error = refusal(value);
    expect(error.path).toBe(path);
    expect(error.problem).toMatch(problem);
    expect(error.message).toBe(`${path} is ${error.problem}`);
  });

  it('writes a path as JavaScript would reach it: brackets for keys that are not identifiers', () => {
    expect(refusal({ items: [0, 1, 2, { model: () => 0 }] }).path).toBe('args.items[3].model');
    expect(refusal({ 'a b': { '1x': [{ ok_$: NaN }] } }).path).toBe('args["a b"]["1x"][0].ok_$');
    expect(pathText(['state value', '', 0, 'x'])).toBe('state value[""][0].x');
  });

  describe(`nesting (at most ${MAX_JSON_DEPTH} levels)`, () => {
    /** `levels` containers, alternating objects and arrays, the outermost an object. */
    const nested = (levels: number) => {
      let value: unknown = 1;
      for (let i = 1; i < levels; i++) value = i % 2 ? [value] : { v: value };
      return { v: value };
    };

    it('sends a value exactly that deep, and refuses one a level deeper', () => {
      expect(jsonTextDepth(encode(nested(MAX_JSON_DEPTH)).json)).toBe(MAX_JSON_DEPTH);
      expect(refusal(nested(MAX_JSON_DEPTH + 1)).problem).toBe(`nested more than ${MAX_JSON_DEPTH} levels deep`);
      expect(refusal(nested(5000)).path).toMatch(/^args\.v\[0\]\.v/);
    });

    it('measures the depth of JSON text, strings aside', () => {
      expect(jsonTextDepth('1')).toBe(0);
      expect(jsonTextDepth('{"a":[1,{"b":"[[[{"}]}')).toBe(3);
      expect(jsonTextDepth('["\\\\",[]]')).toBe(2); // an escaped backslash, then the string ends
      expect(jsonTextDepth('["\\"[]"]')).toBe(1); // an escaped quote does not end the string
    });
  });
});
