import { NdArray, TYPED_ARRAY_OF, shapeProblem, type DType } from './nd-array';
import { TAG, Tag } from './value-tags';

/** A value that is bytes and nothing else, as Python sends it. */
const JUST_BYTES = `{"${TAG}":"${Tag.Bytes}","buffer":0}`;

/** The bytes of buffer `index` of the value being decoded. */
export type BufferLookup = (index: number) => Buffer;

/** A value that breaks the value model (a bad tag, a missing buffer): the sender is at fault. */
export class ValueDecodingError extends Error {}

/**
 * A value of the value model as JavaScript: JSON as parsed; bytes as a Buffer, arrays as
 * NdArray, instants as Date, big integers as bigint. With `tags` 0 the text is plain JSON.
 */
export function decodeValue(json: string, tags: number, buffer: BufferLookup = noBuffers): unknown {
  if (tags === 1 && json === JUST_BYTES) return buffer(0); // a blob, a stream's chunk: no parse
  const value = JSON.parse(json);
  return tags === 0 ? value : untag(value, buffer);
}

function noBuffers(index: number): Buffer {
  throw new ValueDecodingError(`a tag names buffer ${index}, and the value has none`);
}

function untag(value: unknown, buffer: BufferLookup): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = untag(value[i], buffer);
    return value;
  }
  const object = value as Record<string, unknown>;
  for (const key of Object.keys(object)) object[key] = untag(object[key], buffer);
  return TAG in object && Object.prototype.hasOwnProperty.call(object, TAG) ? fromTag(object, buffer) : object;
}

function fromTag(tagged: Record<string, unknown>, buffer: BufferLookup): unknown {
  switch (tagged[TAG]) {
    case Tag.Bytes:
      return dataOf(tagged, buffer);
    case Tag.NdArray:
      return ndArrayOf(tagged, buffer);
    case Tag.Datetime: {
      const when = new Date(String(tagged.iso));
      if (Number.isNaN(when.getTime())) throw new ValueDecodingError(`a datetime tag holds ${JSON.stringify(tagged.iso)}`);
      return when;
    }
    case Tag.BigInt:
      if (typeof tagged.value !== 'string' || !/^-?\d+$/.test(tagged.value)) throw new ValueDecodingError(`a bigint tag holds ${JSON.stringify(tagged.value)}`);
      return BigInt(tagged.value);
    case Tag.Object: {
      const entries = tagged.entries;
      if (!Array.isArray(entries) || entries.some((entry) => !Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string')) {
        throw new ValueDecodingError('an object tag without [key, value] entries');
      }
      const out: Record<string, unknown> = {};
      for (const [key, item] of entries) Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true });
      return out;
    }
    default:
      throw new ValueDecodingError(`unknown tag ${JSON.stringify(tagged[TAG])}`);
  }
}

function dataOf(tagged: Record<string, unknown>, buffer: BufferLookup): Buffer {
  if (typeof tagged.base64 === 'string') return Buffer.from(tagged.base64, 'base64');
  if (!Number.isSafeInteger(tagged.buffer)) throw new ValueDecodingError(`a ${String(tagged[TAG])} tag without a buffer`);
  return buffer(tagged.buffer as number);
}

function ndArrayOf(tagged: Record<string, unknown>, buffer: BufferLookup): NdArray {
  const dtype = tagged.dtype as DType;
  const Typed = Object.prototype.hasOwnProperty.call(TYPED_ARRAY_OF, dtype) ? TYPED_ARRAY_OF[dtype] : undefined;
  if (!Typed) throw new ValueDecodingError(`an ndarray tag of unknown dtype ${JSON.stringify(tagged.dtype)}`);
  const bytes = dataOf(tagged, buffer);
  const width = Typed.BYTES_PER_ELEMENT;
  if (bytes.byteLength % width !== 0) throw new ValueDecodingError(`${bytes.byteLength} bytes are not a whole number of ${dtype} elements`);
  const shape = tagged.shape as number[];
  const problem = shapeProblem(shape, bytes.byteLength / width);
  if (problem) throw new ValueDecodingError(`an ndarray tag: ${problem}`);
  // A view when the bytes sit where the type's alignment allows; else one copy.
  const own = bytes.byteOffset % width === 0 ? bytes : copyAligned(bytes);
  return new NdArray(new Typed(own.buffer, own.byteOffset, own.byteLength / width), shape, dtype);
}

/** Bytes copied into an ArrayBuffer of their own (offset 0, so aligned for any element). */
function copyAligned(bytes: Buffer): Uint8Array {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy;
}
