import { NdArray, ndarray, type DType, type TypedArray } from './nd-array';
import { fromStandaloneJson, standaloneJson } from './standalone-value';
import { decodeValue, ValueDecodingError, type BufferLookup } from './value-decoder';
import { encodeValue } from './value-encoder';

/** `value` encoded, then decoded from copies of its buffers (as if they had crossed the wire). */
function roundTrip(value: unknown): unknown {
  const encoded = encodeValue(value, { root: 'value' });
  const lookup: BufferLookup = (index) => {
    const copy = new Uint8Array(encoded.buffers[index]);
    return Buffer.from(copy.buffer, 0, copy.byteLength);
  };
  return decodeValue(encoded.json, encoded.tags, lookup);
}

const base64 = (bytes: number[]) => Buffer.from(bytes).toString('base64');

describe('encodeValue → decodeValue', () => {
  it('keeps JSON values as they are', () => {
    for (const value of [null, 'x', 0, -1.5, true, [], {}, { a: [], b: {} }, [[[]]], { a: [1, 'b', null, { c: false }] }]) {
      expect(roundTrip(value)).toEqual(value);
    }
  });

  it('gives bytes back as a Buffer: from a Buffer, a Uint8Array, an ArrayBuffer and a DataView', () => {
    const bytes = [0, 1, 127, 128, 255];
    for (const value of [Buffer.from(bytes), new Uint8Array(bytes), new Uint8Array(bytes).buffer, new DataView(new Uint8Array(bytes).buffer)]) {
      const back = roundTrip(value);
      expect(Buffer.isBuffer(back)).toBe(true);
      expect([...(back as Buffer)]).toEqual(bytes);
    }
    expect(roundTrip(Buffer.alloc(0))).toEqual(Buffer.alloc(0));
  });

  it.each<[string, TypedArray, DType, new (length: number) => TypedArray]>([
    ['Int8Array', new Int8Array([-128, 0, 127]), 'int8', Int8Array],
    ['Uint8ClampedArray', new Uint8ClampedArray([0, 200, 255]), 'uint8', Uint8Array],
    ['Int16Array', new Int16Array([-32768, 32767]), 'int16', Int16Array],
    ['Uint16Array', new Uint16Array([0, 65535]), 'uint16', Uint16Array],
    ['Int32Array', new Int32Array([-(2 ** 31), 2 ** 31 - 1]), 'int32', Int32Array],
    ['Uint32Array', new Uint32Array([0, 2 ** 32 - 1]), 'uint32', Uint32Array],
    ['BigInt64Array', new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]), 'int64', BigInt64Array],
    ['BigUint64Array', new BigUint64Array([0n, 2n ** 64n - 1n]), 'uint64', BigUint64Array],
    ['Float32Array', new Float32Array([1.5, -0, Infinity]), 'float32', Float32Array],
    ['Float64Array', new Float64Array([Math.PI, -1e300, NaN]), 'float64', Float64Array],
  ])('gives a %s back as a one-dimensional NdArray', (_name, data, dtype, Typed) => {
    const back = roundTrip({ data }) as { data: NdArray };
    expect(back.data).toBeInstanceOf(NdArray);
    expect(back.data).toMatchObject({ dtype, shape: [data.length] });
    expect(back.data.data).toBeInstanceOf(Typed);
    expect([...back.data.data]).toEqual([...data]);
  });

  it.each<[string, NdArray]>([
    ['2×3 float32', ndarray(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3])],
    ['a scalar (shape [])', ndarray(new Float64Array([7]), [])],
    ['an empty 0×3', ndarray(new Int32Array(0), [0, 3])],
    ['2×2×1 bool', ndarray(new Uint8Array([1, 0, 0, 1]), [2, 2, 1], 'bool')],
  ])('keeps the shape and dtype of an NdArray: %s', (_name, array) => {
    const back = roundTrip(array) as NdArray;
    expect(back).toBeInstanceOf(NdArray);
    expect(back.shape).toEqual(array.shape);
    expect(back.dtype).toBe(array.dtype);
    expect([...back.data]).toEqual([...array.data]);
  });

  it('gives instants back as Dates and big integers as bigints', () => {
    const when = new Date('2026-01-02T03:04:05.678Z');
    const back = roundTrip({ when, n: 2n ** 70n, negative: -5n, zero: 0n }) as Record<string, unknown>;
    expect(back.when).toBeInstanceOf(Date);
    expect((back.when as Date).getTime()).toBe(when.getTime());
    expect(back).toMatchObject({ n: 2n ** 70n, negative: -5n, zero: 0n });
  });

  it('restores nested structures holding every kind of tag', () => {
    const value = {
      batch: [{ image: Buffer.from([9]), scores: ndarray(new Float32Array([0.5, 0.25]), [1, 2]) }, { image: null, scores: [] }],
      meta: { at: new Date(0), id: 12345678901234567890n, tags: { $snakepit: 'user data', list: [{ $snakepit: 0 }] } },
    };
    const back = roundTrip(value) as typeof value;
    expect(back.batch[0].image).toEqual(Buffer.from([9]));
    expect((back.batch[0].scores as NdArray).shape).toEqual([1, 2]);
    expect(back.batch[1]).toEqual({ image: null, scores: [] });
    expect(back.meta).toEqual(value.meta);
  });

  describe('objects with a "$snakepit" key of their own', () => {
    it('travel as an "object" tag and come back exactly, even when they look like a tag', () => {
      for (const value of [
        { $snakepit: 'bytes', buffer: 0 },
        { $snakepit: 'ndarray', dtype: 'nope', shape: 'x' },
        { $snakepit: { $snakepit: { $snakepit: null } } },
        [{ $snakepit: 1, inside: { $snakepit: new Date(5) } }],
      ]) {
        expect(roundTrip(value)).toEqual(value);
      }
    });

    it('keep a "__proto__" key as an own key, without changing the prototype', () => {
      const value = JSON.parse('{"$snakepit":1,"__proto__":{"polluted":true},"plain":{"__proto__":{"polluted":true}}}');
      const back = roundTrip(value) as Record<string, Record<string, unknown>>;
      for (const object of [back, back.plain]) {
        expect(Object.getPrototypeOf(object)).toBe(Object.prototype);
        expect(Object.getOwnPropertyDescriptor(object, '__proto__')?.value).toEqual({ polluted: true });
        expect(object.polluted).toBeUndefined();
      }
      expect(Object.keys(back)).toEqual(['$snakepit', '__proto__', 'plain']);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  });

  it('in base64 mode stands alone: decoded as text with one tag, without buffers', () => {
    const value = { data: Buffer.from('hi'), xs: ndarray(new Int16Array([1, -1]), [2, 1]), at: new Date(0) };
    const json = standaloneJson(value, 'state');
    const back = decodeValue(json, 1) as typeof value;
    expect(back.data).toEqual(Buffer.from('hi'));
    expect(back.xs.shape).toEqual([2, 1]);
    expect([...back.xs.data]).toEqual([1, -1]);
    expect(fromStandaloneJson(json)).toEqual(back);
    expect(fromStandaloneJson('{"a":1}')).toEqual({ a: 1 });
  });
});

describe('decodeValue', () => {
  const decode = (tag: Record<string, unknown>, lookup?: BufferLookup) => decodeValue(JSON.stringify(tag), 1, lookup);

  it('reads text with a tag count of 0 as plain JSON, tags and all', () => {
    expect(decodeValue('{"$snakepit":"bigint","value":"1"}', 0)).toEqual({ $snakepit: 'bigint', value: '1' });
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['an unknown tag', { $snakepit: 'nope' }, /unknown tag "nope"/],
    ['an unknown dtype', { $snakepit: 'ndarray', dtype: 'float16', shape: [1], base64: base64([0, 0]) }, /unknown dtype "float16"/],
    ['a dtype named like an Object method', { $snakepit: 'ndarray', dtype: 'constructor', shape: [0], base64: '' }, /unknown dtype/],
    ['bytes that are not whole elements', { $snakepit: 'ndarray', dtype: 'int32', shape: [1], base64: base64([1, 2, 3, 4, 5, 6]) }, /6 bytes are not a whole number of int32/],
    ['a shape that does not fit the data', { $snakepit: 'ndarray', dtype: 'float64', shape: [2], base64: base64([0, 0, 0, 0, 0, 0, 0, 0]) }, /holds 2 elements, the data 1/],
    ['a negative shape', { $snakepit: 'ndarray', dtype: 'uint8', shape: [-1], base64: '' }, /non-negative integers/],
    ['a shape that is not an array', { $snakepit: 'ndarray', dtype: 'uint8', shape: 3, base64: base64([1, 2, 3]) }, /non-negative integers/],
    ['bigint text with a fraction', { $snakepit: 'bigint', value: '1.5' }, /a bigint tag holds "1.5"/],
    ['bigint text with letters', { $snakepit: 'bigint', value: '12a' }, /bigint tag/],
    ['a bigint as a number', { $snakepit: 'bigint', value: 12 }, /bigint tag/],
    ['an instant that is none', { $snakepit: 'datetime', iso: 'nope' }, /a datetime tag holds "nope"/],
    ['an object tag without entries', { $snakepit: 'object', entries: [['a']] }, /without \[key, value\] entries/],
    ['bytes with neither a buffer nor base64', { $snakepit: 'bytes' }, /without a buffer/],
    ['a buffer the value does not have', { $snakepit: 'bytes', buffer: 0 }, /names buffer 0, and the value has none/],
  ])('refuses %s', (_name, tag, message) => {
    expect(() => decode(tag)).toThrow(ValueDecodingError);
    expect(() => decode(tag)).toThrow(message);
  });

  describe('an ndarray on bytes that came in a larger buffer', () => {
    const backing = new ArrayBuffer(32);
    new Float64Array(backing, 8, 2).set([1.5, -2.5]);
    const tag = { $snakepit: 'ndarray', dtype: 'float64', shape: [2], buffer: 0 };

    it('is a view of them where they are aligned for its element type', () => {
      const array = decode(tag, () => Buffer.from(backing, 8, 16)) as NdArray<Float64Array>;
      expect(array.data.buffer).toBe(backing);
      expect(array.data.byteOffset).toBe(8);
      expect([...array.data]).toEqual([1.5, -2.5]);
    });

    it('is a copy, aligned, where they are not', () => {
      const shifted = new Uint8Array(backing.byteLength + 1);
      shifted.set(new Uint8Array(backing), 1);
      const array = decode(tag, () => Buffer.from(shifted.buffer, 9, 16)) as NdArray<Float64Array>;
      expect(array.data.buffer).not.toBe(shifted.buffer);
      expect(array.data.byteOffset % 8).toBe(0);
      expect([...array.data]).toEqual([1.5, -2.5]);
    });

    it('of single bytes, is a view at any offset', () => {
      const bytes = Buffer.from([0, 1, 2, 3]);
      const array = decode({ $snakepit: 'ndarray', dtype: 'uint8', shape: [3], buffer: 0 }, () => bytes.subarray(1)) as NdArray;
      expect(array.data.buffer).toBe(bytes.buffer);
      expect([...array.data]).toEqual([1, 2, 3]);
    });
  });
});
