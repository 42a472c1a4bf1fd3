/** The element types an array may have on both sides: numpy's names for them. */
export type DType =
  | 'bool'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'float32'
  | 'float64';

export type TypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

type TypedArrayClass = { new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): TypedArray; BYTES_PER_ELEMENT: number };

/** Each dtype's typed array class (a `bool` array is a Uint8Array of 0 and 1). */
export const TYPED_ARRAY_OF: Readonly<Record<DType, TypedArrayClass>> = {
  bool: Uint8Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  float32: Float32Array,
  float64: Float64Array,
};

/** The dtype of a typed array (Uint8Array and Uint8ClampedArray are both uint8); undefined for
 *  one no dtype here matches (a Float16Array). */
export function dtypeOf(data: TypedArray): DType | undefined {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof BigUint64Array) return 'uint64';
  if (data instanceof Uint8Array || data instanceof Uint8ClampedArray) return 'uint8';
  return undefined;
}

/**
 * An n-dimensional array: what a numpy array is on the host, and how to send one with a shape.
 * `data` holds the elements in row-major (C) order; `shape` multiplies out to its length.
 */
export class NdArray<T extends TypedArray = TypedArray> {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: T;

  constructor(data: T, shape: readonly number[] = [data.length], dtype: DType | undefined = dtypeOf(data)) {
    if (dtype === undefined) throw new TypeError(`ndarray: a ${data.constructor.name} has no dtype both sides know`);
    const problem = shapeProblem(shape, data.length) ?? dtypeProblem(data, dtype);
    if (problem) throw new TypeError(`ndarray: ${problem}`);
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
  }

  /** How many elements it holds. */
  get size(): number {
    return this.data.length;
  }

  get byteLength(): number {
    return this.data.byteLength;
  }

  /** For JSON (an HTTP answer, a log): `{ dtype, shape, data }` with `data` a plain array
   *  (64-bit integers as decimal strings, which JSON numbers cannot hold exactly). */
  toJSON(): { dtype: DType; shape: number[]; data: Array<number | string> } {
    const data = Array.from(this.data as ArrayLike<number | bigint>, (x) => (typeof x === 'bigint' ? x.toString() : x));
    return { dtype: this.dtype, shape: [...this.shape], data };
  }
}

/** An array to send with a shape (and, for 0/1 bytes as booleans, dtype `bool`). */
export function ndarray<T extends TypedArray>(data: T, shape?: readonly number[], dtype?: DType): NdArray<T> {
  return new NdArray(data, shape, dtype);
}

/** What is wrong with a shape for `length` elements, if anything. */
export function shapeProblem(shape: readonly unknown[], length: number): string | undefined {
  if (!Array.isArray(shape) || shape.some((n) => !Number.isSafeInteger(n) || (n as number) < 0)) {
    return `the shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`;
  }
  const size = shape.reduce<number>((product, n) => product * (n as number), 1);
  return size === length ? undefined : `a shape of [${shape.join(', ')}] holds ${size} elements, the data ${length}`;
}

function dtypeProblem(data: TypedArray, dtype: DType): string | undefined {
  const wanted = TYPED_ARRAY_OF[dtype];
  if (!wanted) return `unknown dtype ${JSON.stringify(dtype)}; one of ${Object.keys(TYPED_ARRAY_OF).join(', ')}`;
  const fits = dtype === 'bool' ? data instanceof Uint8Array : dtypeOf(data) === dtype;
  return fits ? undefined : `dtype ${dtype} needs a ${wanted.name}, got a ${data.constructor.name}`;
}
