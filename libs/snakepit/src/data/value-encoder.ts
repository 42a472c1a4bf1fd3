import { MAX_JSON_DEPTH } from '../bridge/strict-json';
import { NdArray, dtypeOf, type TypedArray } from './nd-array';
import { TAG, Tag } from './value-tags';

/** A value as it travels: JSON text, the binary buffers its tags point at, how many tags, and
 *  the shared values it names (to be kept until the call that sends it is over). */
export interface EncodedValue {
  json: string;
  tags: number;
  buffers: Uint8Array[];
  shared: ShareableValue[];
}

/** Marks the values the encoder sends by name (SharedValue): a brand, not a shape, so that no
 *  other object is mistaken for one. */
export const SHAREABLE: unique symbol = Symbol('snakepit:shareable');

/** What the encoder needs of a shared value (pool.share): the name the worker resolves (a
 *  closed one throws), and a hold on it while a call uses it. */
export interface ShareableValue {
  readonly [SHAREABLE]: true;
  readonly sharedName: string;
  /** Keeps its segments until the returned function is called. */
  hold(): () => void;
}

export function isShareable(value: object): value is ShareableValue {
  return (value as Partial<ShareableValue>)[SHAREABLE] === true;
}

/** Where in the value the encoder stopped, and why: "args.items[3].when is an invalid Date". */
export class ValueEncodingError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path} is ${problem}`);
  }
}

export interface EncodeOptions {
  /** The name of the value in messages: "args", "state value". */
  root: string;
  /** `beside` (default): binary data goes in EncodedValue.buffers. `base64`: inside the JSON
   *  text, so that it stands alone (session state); shared values are refused then, since the
   *  text would outlive them. */
  binary?: 'beside' | 'base64';
  /** Refuse shared values (a value being shared cannot hold another). */
  refuseShared?: boolean;
}

/**
 * A JavaScript value in the value model (README, "Data"): JSON for what JSON holds; tagged
 * objects for bytes (Buffer, Uint8Array, ArrayBuffer, DataView), arrays (other typed arrays,
 * NdArray), Dates, bigints and shared values. What JSON would silently change or drop
 * (functions, symbols, undefined in arrays, NaN, Map, Set, cycles, nesting past MAX_JSON_DEPTH)
 * throws a ValueEncodingError naming where it sits.
 */
export function encodeValue(value: unknown, options: EncodeOptions): EncodedValue {
  const base64 = options.binary === 'base64';
  const encoder = new Encoder(base64, base64 || options.refuseShared === true);
  const tree = encoder.walk(value, '', 0, [options.root]);
  return { json: tree === undefined ? 'null' : JSON.stringify(tree), tags: encoder.tags, buffers: encoder.buffers, shared: encoder.shared };
}

class Encoder {
  tags = 0;
  readonly buffers: Uint8Array[] = [];
  readonly shared: ShareableValue[] = [];
  private readonly ancestors = new Set<object>();

  constructor(
    private readonly base64: boolean,
    private readonly refuseShared: boolean,
  ) {}

  walk(value: unknown, key: string, depth: number, path: Array<string | number>): unknown {
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return value;
      case 'number':
        if (!Number.isFinite(value)) throw this.fail(path, `${value} (JSON has no such number)`);
        return value;
      case 'bigint':
        return this.tag({ [TAG]: Tag.BigInt, value: value.toString() });
      case 'undefined':
        return undefined;
      case 'function':
      case 'symbol':
        throw this.fail(path, `a ${typeof value}`);
    }
    if (value === null) return null;
    const object = value as object;
    if (depth >= MAX_JSON_DEPTH) throw this.fail(path, `nested more than ${MAX_JSON_DEPTH} levels deep`);
    // Plain objects and arrays (most of what there is) skip the look for special types.
    const proto = Object.getPrototypeOf(object);
    if (proto !== Object.prototype && proto !== Array.prototype && proto !== null) {
      const special = this.special(object, path);
      if (special !== undefined) return special;
    }
    if (this.ancestors.has(object)) throw this.fail(path, 'a reference to one of its own containers (a cycle)');
    this.ancestors.add(object);
    try {
      if (Array.isArray(object)) return this.array(object, depth, path);
      if (typeof (object as { toJSON?: unknown }).toJSON === 'function') {
        return this.walk((object as { toJSON(key: string): unknown }).toJSON(key), key, depth + 1, path);
      }
      return this.object(object as Record<string, unknown>, depth, path);
    } finally {
      this.ancestors.delete(object);
    }
  }

  /** The tagged form of an object JSON has no word for; undefined for arrays and plain objects. */
  private special(object: object, path: Array<string | number>): unknown {
    if (ArrayBuffer.isView(object)) {
      if (object instanceof DataView) return this.bytes(new Uint8Array(object.buffer, object.byteOffset, object.byteLength));
      const data = object as TypedArray;
      if (data.constructor === Uint8Array || Buffer.isBuffer(data)) return this.bytes(data as Uint8Array);
      const dtype = dtypeOf(data);
      if (dtype === undefined) throw this.fail(path, `a ${data.constructor.name}, which has no dtype both sides know`);
      return this.typed(data, [data.length], dtype);
    }
    if (object instanceof ArrayBuffer) return this.bytes(new Uint8Array(object));
    if (object instanceof NdArray) return this.typed(object.data, object.shape, object.dtype);
    if (object instanceof Date) {
      if (Number.isNaN(object.getTime())) throw this.fail(path, 'an invalid Date');
      const year = object.getUTCFullYear();
      if (year < 1 || year > 9999) throw this.fail(path, `a Date in the year ${year}, outside the years 1 to 9999 a Python datetime holds`);
      return this.tag({ [TAG]: Tag.Datetime, iso: object.toISOString() });
    }
    if (isShareable(object)) {
      if (this.refuseShared) throw this.fail(path, 'a SharedValue, which cannot be kept here (it would outlive its data); pass the data itself');
      this.shared.push(object);
      return this.tag({ [TAG]: Tag.Shared, name: object.sharedName });
    }
    if (object instanceof Map || object instanceof Set) throw this.fail(path, `a ${object.constructor.name}; use an object or an array`);
    if (object instanceof RegExp || object instanceof Error) throw this.fail(path, `a ${object.constructor.name}`);
    if (object instanceof SharedArrayBuffer) throw this.fail(path, 'a SharedArrayBuffer; send a typed array over it');
    return undefined;
  }

  // Containers are copied only from their first item that changes (copy on write), and JSON's
  // own scalars are checked inline: a plain structure goes to JSON.stringify as it is.

  private array(items: unknown[], depth: number, path: Array<string | number>): unknown[] {
    let out: unknown[] | undefined;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (isPlainScalar(item)) continue;
      path.push(i);
      const sent = this.walk(item, String(i), depth + 1, path);
      if (sent === undefined) throw this.fail(path, 'undefined (an array cannot hold it in JSON; use null)');
      path.pop();
      if (sent !== item) (out ??= items.slice())[i] = sent;
    }
    return out ?? items;
  }

  private object(object: Record<string, unknown>, depth: number, path: Array<string | number>): unknown {
    let out: Record<string, unknown> | undefined;
    const keys = Object.keys(object);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      const item = object[key];
      if (isPlainScalar(item)) continue;
      path.push(key);
      const sent = this.walk(item, key, depth + 1, path);
      path.pop();
      if (sent !== item) {
        out ??= copyOf(object, keys);
        if (sent === undefined) delete out[key];
        else setOwn(out, key, sent);
      }
    }
    const result = out ?? object;
    if (Object.prototype.hasOwnProperty.call(object, TAG)) {
      return this.tag({ [TAG]: Tag.Object, entries: Object.keys(result).filter((key) => result[key] !== undefined).map((key) => [key, result[key]]) });
    }
    return result;
  }

  private bytes(data: Uint8Array): unknown {
    return this.tag({ [TAG]: Tag.Bytes, ...this.data(data) });
  }

  private typed(data: TypedArray, shape: readonly number[], dtype: string): unknown {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    return this.tag({ [TAG]: Tag.NdArray, dtype, shape: [...shape], ...this.data(bytes) });
  }

  private data(bytes: Uint8Array): { buffer: number } | { base64: string } {
    if (this.base64) return { base64: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') };
    this.buffers.push(bytes);
    return { buffer: this.buffers.length - 1 };
  }

  private tag<T>(tagged: T): T {
    this.tags++;
    return tagged;
  }

  private fail(path: Array<string | number>, problem: string): ValueEncodingError {
    return new ValueEncodingError(pathText(path), problem);
  }
}

function isPlainScalar(value: unknown): boolean {
  const type = typeof value;
  return type === 'string' || type === 'boolean' || value === null || (type === 'number' && Number.isFinite(value));
}

/** A plain copy of an object's own enumerable properties (as JSON.stringify sees them). */
function copyOf(object: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) setOwn(out, key, object[key]);
  return out;
}

/** `out[key] = value`, for "__proto__" too (an own key, as JSON.parse makes it). */
function setOwn(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

/** ["args", "items", 3, "model"] as "args.items[3].model". */
export function pathText(path: ReadonlyArray<string | number>): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else if (text === '') text = part;
    else text += /^[A-Za-z_$][\w$]*$/.test(part) ? `.${part}` : `[${JSON.stringify(part)}]`;
  }
  return text;
}
