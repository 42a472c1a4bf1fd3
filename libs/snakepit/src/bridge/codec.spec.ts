import {
  PayloadTooLargeError,
  PythonException,
  PythonKeyError,
  PythonValueError,
  SerializationError,
  UnknownToolError,
} from '../errors';
import { decodeError, decodeReply, encodeArgs } from './codec';
import { jsonTextDepth, MAX_JSON_DEPTH } from './strict-json';

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('encodeArgs', () => {
  it('encodes a plain object as JSON', () => {
    expect(JSON.parse(encodeArgs('t', { a: 1, b: [true, null, 'x'], c: { d: 2.5 } }).toString())).toEqual({
      a: 1,
      b: [true, null, 'x'],
      c: { d: 2.5 },
    });
  });

  it('sends {} when there are no arguments', () => {
    expect(encodeArgs('t', undefined).toString()).toBe('{}');
  });

  it.each([
    ['a function', { f: () => 1 }, /"f" is a function/],
    ['a BigInt', { n: 10n }, /"n" is a bigint/],
    ['NaN', { x: NaN }, /"x" is NaN/],
    ['Infinity', { x: Infinity }, /"x" is Infinity/],
    ['a Map', { m: new Map() }, /"m" is a Map/],
    ['undefined in an array', { xs: [1, undefined] }, /array holds undefined/],
  ])('refuses %s before sending', (_name, args, message) => {
    expect(() => encodeArgs('tool1', args)).toThrow(SerializationError);
    expect(() => encodeArgs('tool1', args)).toThrow(message);
  });

  it('refuses cycles', () => {
    const a: any = {};
    a.self = a;
    expect(() => encodeArgs('t', a)).toThrow(SerializationError);
  });

  it(`refuses arguments nested deeper than ${MAX_JSON_DEPTH} levels, and sends ones exactly that deep`, () => {
    const nested = (levels: number) => {
      let value: unknown = 1;
      for (let i = 1; i < levels; i++) value = i % 2 ? [value] : { v: value };
      return { v: value }; // the arguments object is the first level
    };
    expect(jsonTextDepth(encodeArgs('t', nested(MAX_JSON_DEPTH)).toString())).toBe(MAX_JSON_DEPTH);
    expect(() => encodeArgs('t', nested(MAX_JSON_DEPTH + 1))).toThrow(SerializationError);
    expect(() => encodeArgs('t', nested(5000))).toThrow(`nests more than ${MAX_JSON_DEPTH} levels deep`);
  });

  it('measures the depth of JSON text, strings aside', () => {
    expect(jsonTextDepth('1')).toBe(0);
    expect(jsonTextDepth('{"a":[1,{"b":"[[[{"}]}')).toBe(3);
    expect(jsonTextDepth('["\\\\",[]]')).toBe(2); // an escaped backslash, then the string ends
    expect(jsonTextDepth('["\\"[]"]')).toBe(1); // an escaped quote does not end the string
  });

  it('refuses arguments that are not an object', () => {
    expect(() => encodeArgs('t', [1, 2])).toThrow(/must be an object/);
    expect(() => encodeArgs('t', 'x')).toThrow(SerializationError);
  });
});

describe('decodeReply', () => {
  it('returns JSON results as values and bytes as a Buffer', () => {
    expect(decodeReply('t', { outcome: 'result', result: { kind: 'json', json: json({ a: [1] }) } })).toEqual({
      ok: true,
      value: { a: [1] },
    });
    const bytes = Buffer.from([0, 1, 255]);
    const decoded = decodeReply('t', { outcome: 'result', result: { kind: 'binary', binary: bytes } });
    expect(decoded.ok && Buffer.isBuffer(decoded.value) && decoded.value.equals(bytes)).toBe(true);
  });

  it('maps Python exceptions to typed errors with type, message and traceback', () => {
    const decoded = decodeReply('t', {
      outcome: 'error',
      error: { type: 'ValueError', message: 'bad x', traceback: 'Traceback ...', detailsJson: json({ module: 'builtins' }) },
    });
    expect(decoded.ok).toBe(false);
    const error = (decoded as any).error;
    expect(error).toBeInstanceOf(PythonValueError);
    expect(error).toMatchObject({ code: 'python_value_error', pythonType: 'ValueError', message: 'bad x', traceback: 'Traceback ...' });
  });
});

describe('decodeError', () => {
  const info = (type: string, details: unknown = {}) => ({ type, message: 'm', traceback: '', detailsJson: json(details) });

  it('keeps unknown Python types as PythonException', () => {
    const error = decodeError('t', info('MyCustomError'));
    expect(error).toBeInstanceOf(PythonException);
    expect(error).toMatchObject({ code: 'python_exception', pythonType: 'MyCustomError' });
  });

  it('maps KeyError', () => {
    expect(decodeError('t', info('KeyError'))).toBeInstanceOf(PythonKeyError);
  });

  it('maps the bridge’s own failures to host errors', () => {
    const unknown = decodeError('nope', info('UnknownToolError', { available: ['a', 'b'] }));
    expect(unknown).toBeInstanceOf(UnknownToolError);
    expect((unknown as UnknownToolError).available).toEqual(['a', 'b']);
    expect(decodeError('t', info('PayloadTooLargeError'))).toBeInstanceOf(PayloadTooLargeError);
    expect(decodeError('t', info('ResultNotSerializableError'))).toBeInstanceOf(SerializationError);
  });
});

describe('encodeArgs refuses what JSON would silently change', () => {
  it.each([
    ['a nested Buffer', { data: Buffer.from('hi') }, /"data" is binary data/],
    ['a Uint8Array', { data: new Uint8Array([1, 2]) }, /"data" is binary data/],
    ['a RegExp', { pattern: /x/ }, /"pattern" is a RegExp/],
    ['an Error', { e: new Error('x') }, /"e" is an Error/],
  ])('%s', (_name, args, message) => {
    expect(() => encodeArgs('t', args)).toThrow(message);
  });

  it('refuses a Date as the whole arguments object but sends nested dates as ISO strings', () => {
    expect(() => encodeArgs('t', new Date())).toThrow(/must be an object/);
    const when = new Date('2026-01-02T03:04:05Z');
    expect(JSON.parse(encodeArgs('t', { when }).toString())).toEqual({ when: '2026-01-02T03:04:05.000Z' });
  });

  it('accepts class instances (validated DTOs)', () => {
    class Dto {
      constructor(readonly x = 1) {}
    }
    expect(JSON.parse(encodeArgs('t', new Dto()).toString())).toEqual({ x: 1 });
  });
});
