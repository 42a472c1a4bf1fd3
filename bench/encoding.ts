/**
 * BENCH_ONLY=encoding: the value model (JSON text with tagged objects, binary buffers beside it;
 * proto message Value) against MessagePack with extension types, encode + decode of one value
 * in one process, no transport, in Node and in Python (bench/encoding_bench.py), on five values:
 *
 *  - tiny:        call args {a: 1, b: 2};
 *  - mixed100:    an object of 100 fields (strings, numbers, booleans, small nested objects);
 *  - records1000: a list of 1000 records {id, name, score, tags: [2 strings]};
 *  - array1MiB:   a 1 MiB float32 array (Float32Array / numpy) and 3 scalar fields;
 *  - dateBigint:  a Date / aware datetime and an integer past 2^53 (2^60 + 7) among 3 small fields.
 *
 * Node, ours: encodeValue, its text to UTF-8 (the bytes of Value.json); back: the text from
 * UTF-8, decodeValue with a lookup over the encoder's buffers. MessagePack (@msgpack/msgpack):
 * one Encoder (encodeSharedRef: no copy out of its buffer, msgpack's best case) and one Decoder;
 * Date is msgpack's timestamp extension (-1), bigint extension 1 (its decimal text), a typed
 * array or NdArray extension 2 (dtype, ndim, padding, the dims, then the data, aligned so that
 * the decoder can view it), decoded as an NdArray as ours is. Python: see encoding_bench.py.
 *
 * Every figure is µs per value, the median over rounds in which the formats take turns;
 * encode and decode are timed apart (a batch of each, sized to about 20 ms), and the total is
 * their sum in each round. Each format's decode is checked to give the value back once first.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Decoder, Encoder, ExtensionCodec } from '@msgpack/msgpack';
import { NdArray } from '../libs/snakepit/src';
import { TYPED_ARRAY_OF, dtypeOf, type DType, type TypedArray } from '../libs/snakepit/src/data/nd-array';
import { decodeValue } from '../libs/snakepit/src/data/value-decoder';
import { encodeValue } from '../libs/snakepit/src/data/value-encoder';
import { median } from './measure';

const ROUNDS = Number(process.env.BENCH_ENCODING_ROUNDS ?? 7);
const BATCH_MS = 20;
const FLOATS = 2 ** 18; // 1 MiB of float32

export const CASES = {
  tiny: 'tiny call args {a: 1, b: 2}',
  mixed100: '100 mixed fields',
  records1000: '1000 records {id, name, score, tags}',
  array1MiB: '1 MiB float32 array + 3 scalars',
  dateBigint: 'date + bigint (2^60 + 7) + 3 small fields',
} as const;
export type CaseName = keyof typeof CASES;
export type FormatName = 'ours' | 'msgpack';

export interface FormatFigure {
  /** Encoded size: ours, the JSON text and the buffers; msgpack, its bytes. */
  bytes: number;
  encodeUs: number;
  decodeUs: number;
  /** encode + decode: the median over rounds, and its range. */
  totalUs: number;
  totalMinUs: number;
  totalMaxUs: number;
  /** array1MiB: whether the decoded array views the bytes decoded (no copy of the array). */
  arrayViewsInput?: boolean;
  arrayWritable?: boolean;
}
export type LanguageFigures = Partial<Record<CaseName, Partial<Record<FormatName, FormatFigure>>>>;

export interface EncodingFigures {
  rounds: number;
  node: { version: string; msgpack: string; cases: LanguageFigures };
  /** Absent, with the reason, when the Python helper could not run. */
  python?: { python: string; numpy: string | null; msgpack: string | null; rounds: number; cases: LanguageFigures };
  skipped: string[];
}

// -- the values (bench/encoding_bench.py builds the same) -------------------------------------

function mixedFields(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < 100; i++) {
    switch (i % 4) {
      case 0:
        out[`s${i}`] = `value-${i}`;
        break;
      case 1:
        out[`n${i}`] = i % 8 === 1 ? i * 1000 : i + 0.25;
        break;
      case 2:
        out[`b${i}`] = i % 3 === 0;
        break;
      default:
        out[`o${i}`] = { x: i, y: `n${i}`, z: [i, i + 1] };
    }
  }
  return out;
}

function values(): Record<CaseName, unknown> {
  const data = new Float32Array(FLOATS);
  for (let i = 0; i < FLOATS; i++) data[i] = i * 0.001;
  return {
    tiny: { a: 1, b: 2 },
    mixed100: mixedFields(),
    records1000: Array.from({ length: 1000 }, (_, i) => ({ id: i, name: `user-${i}`, score: ((i * 37) % 1000) / 10, tags: [`t${i % 5}`, `t${i % 7}`] })),
    array1MiB: { id: 'batch-1', scale: 0.5, normalize: true, data },
    dateBigint: { id: 42, name: 'event', when: new Date('2024-05-01T12:34:56.789Z'), big: 2n ** 60n + 7n, ok: true },
  };
}

// -- the formats -----------------------------------------------------------------------------

interface Format<E> {
  encode(value: unknown): E;
  decode(encoded: E): unknown;
  bytes(encoded: E): number;
  /** The bytes a decode of array1MiB reads the array from. */
  source(encoded: E): ArrayBufferLike;
}

interface OurWire {
  json: Buffer;
  tags: number;
  buffers: Uint8Array[];
}

const ours: Format<OurWire> = {
  encode(value) {
    const encoded = encodeValue(value, { root: 'args' });
    return { json: Buffer.from(encoded.json, 'utf8'), tags: encoded.tags, buffers: encoded.buffers };
  },
  decode(wire) {
    return decodeValue(wire.json.toString('utf8'), wire.tags, (index) => {
      const b = wire.buffers[index];
      return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    });
  },
  bytes: (wire) => wire.json.byteLength + wire.buffers.reduce((sum, b) => sum + b.byteLength, 0),
  source: (wire) => wire.buffers[0].buffer,
};

const EXT_BIGINT = 1;
const EXT_NDARRAY = 2;
const DTYPE_CODES: Partial<Record<DType, number>> = { float32: 1, float64: 2, int32: 3, int64: 4, uint8: 5 };
const DTYPE_OF_CODE = Object.fromEntries(Object.entries(DTYPE_CODES).map(([name, code]) => [code, name as DType]));

/** Extension 2: [dtype code, ndim, padding, ndim × u32 LE dims, padding zeros, data], the data
 *  at an offset of the encoder's buffer that is a multiple of 8 (`at` is where the extension's
 *  bytes start), so that the decoder can make a typed array on it without a copy. */
function ndarrayExt(data: TypedArray, shape: readonly number[], dtype: DType): (at: number) => Uint8Array {
  const code = DTYPE_CODES[dtype];
  if (code === undefined) throw new TypeError(`no extension code for ${dtype}`);
  return (at: number) => {
    const fixed = 3 + 4 * shape.length;
    const pad = (8 - ((at + fixed) % 8)) % 8;
    const out = Buffer.allocUnsafe(fixed + pad + data.byteLength); // every byte is written below
    out[0] = code;
    out[1] = shape.length;
    out[2] = pad;
    shape.forEach((n, i) => out.writeUInt32LE(n, 3 + 4 * i));
    out.fill(0, fixed, fixed + pad);
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), fixed + pad);
    return out;
  };
}

function msgpackCodec(): ExtensionCodec {
  const codec = new ExtensionCodec();
  codec.register({
    type: EXT_BIGINT,
    encode: (value) => (typeof value === 'bigint' ? Buffer.from(value.toString(), 'latin1') : null),
    decode: (data) => BigInt(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1')),
  });
  codec.register({
    type: EXT_NDARRAY,
    encode: (value) => {
      if (value instanceof NdArray) return ndarrayExt(value.data, value.shape, value.dtype);
      if (ArrayBuffer.isView(value) && !(value instanceof DataView) && value.constructor !== Uint8Array && !Buffer.isBuffer(value)) {
        const typed = value as TypedArray;
        return ndarrayExt(typed, [typed.length], dtypeOf(typed)!);
      }
      return null;
    },
    decode: (data) => {
      const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
      const dtype = DTYPE_OF_CODE[data[0]];
      const ndim = data[1];
      const shape = Array.from({ length: ndim }, (_, i) => view.getUint32(3 + 4 * i, true));
      const start = data.byteOffset + 3 + 4 * ndim + data[2];
      const Typed = TYPED_ARRAY_OF[dtype];
      const length = (data.byteOffset + data.byteLength - start) / Typed.BYTES_PER_ELEMENT;
      // A view of the decoder's input where the alignment allows it (the encoder padded for it).
      const typed =
        start % Typed.BYTES_PER_ELEMENT === 0
          ? new Typed(data.buffer, start, length)
          : new Typed(data.slice(start - data.byteOffset).buffer, 0, length);
      return new NdArray(typed, shape, dtype);
    },
  });
  return codec;
}

function msgpack(): Format<Uint8Array> {
  const extensionCodec = msgpackCodec();
  const encoder = new Encoder({ extensionCodec });
  const decoder = new Decoder({ extensionCodec });
  return {
    encode: (value) => encoder.encodeSharedRef(value),
    decode: (bytes) => decoder.decode(bytes),
    bytes: (bytes) => bytes.byteLength,
    source: (bytes) => bytes.buffer,
  };
}

// -- timing ----------------------------------------------------------------------------------

/** µs per call of `count` calls of step(arg). No forced GC between batches: after global.gc()
 *  V8 runs this code several times slower for a while (the figures would be the collector's). */
function batchUs<A>(step: (arg: A) => unknown, arg: A, count: number): number {
  let sink: unknown;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) sink = step(arg);
  const us = Number(process.hrtime.bigint() - t0) / 1000 / count;
  if (sink === Symbol.for('never')) console.log(sink);
  return us;
}

/** How many calls make a batch of about BATCH_MS (the first batches warm the code up). */
function calibrate<A>(step: (arg: A) => unknown, arg: A): number {
  for (let count = 1; ; count *= 4) {
    const us = batchUs(step, arg, count);
    if (us * count >= (BATCH_MS * 1000) / 4 || count >= 2 ** 20) return Math.max(1, Math.round((BATCH_MS * 1000) / us));
  }
}

/** A value comparable with isDeepStrictEqual: arrays as their dtype, shape and bytes. */
function normal(value: unknown): unknown {
  if (value instanceof NdArray) return normal(value.data);
  if (ArrayBuffer.isView(value)) {
    const typed = value as TypedArray;
    return { dtype: dtypeOf(typed), bytes: Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength) };
  }
  if (Array.isArray(value)) return value.map(normal);
  if (value && typeof value === 'object' && !(value instanceof Date)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normal(v)]));
  return value;
}

function nodeFigures(): LanguageFigures {
  const inputs = values();
  const formats: Record<FormatName, Format<any>> = { ours, msgpack: msgpack() };
  const figures: LanguageFigures = {};
  const plan: Array<{ caseName: CaseName; name: FormatName; format: Format<any>; encodes: number; decodes: number; encoded: unknown; enc: number[]; dec: number[] }> = [];
  for (const caseName of Object.keys(CASES) as CaseName[]) {
    figures[caseName] = {};
    for (const [name, format] of Object.entries(formats) as Array<[FormatName, Format<any>]>) {
      const value = inputs[caseName];
      const encoded = format.encode(value);
      const decoded = format.decode(encoded) as Record<string, unknown>;
      if (!isDeepStrictEqual(normal(decoded), normal(value))) throw new Error(`${name} does not bring ${caseName} back as it was`);
      const figure: Partial<FormatFigure> = { bytes: format.bytes(encoded) };
      if (caseName === 'array1MiB') {
        const array = (decoded.data as NdArray).data;
        figure.arrayViewsInput = array.buffer === format.source(encoded);
        figure.arrayWritable = true; // a typed array always is
      }
      figures[caseName]![name] = figure as FormatFigure;
      // msgpack's encodeSharedRef reuses its buffer: each decode batch gets bytes of its own.
      const own = name === 'msgpack' ? (encoded as Uint8Array).slice() : encoded;
      plan.push({ caseName, name, format, encodes: calibrate(format.encode, value), decodes: calibrate(format.decode, own), encoded: own, enc: [], dec: [] });
    }
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const p of plan) {
      p.enc.push(batchUs(p.format.encode, inputs[p.caseName], p.encodes));
      p.dec.push(batchUs(p.format.decode, p.encoded, p.decodes));
    }
  }
  for (const p of plan) {
    const totals = p.enc.map((e, i) => e + p.dec[i]);
    Object.assign(figures[p.caseName]![p.name]!, {
      encodeUs: median(p.enc),
      decodeUs: median(p.dec),
      totalUs: median(totals),
      totalMinUs: Math.min(...totals),
      totalMaxUs: Math.max(...totals),
    });
  }
  return figures;
}

function pythonInterpreter(): string {
  if (process.env.SNAKEPIT_PYTHON) return process.env.SNAKEPIT_PYTHON;
  const chosen = join(__dirname, '..', '.snakepit', 'python');
  return existsSync(chosen) ? readFileSync(chosen, 'utf8').trim() : 'python3';
}

export function encodingBench(): EncodingFigures {
  const skipped: string[] = [];
  const node = {
    version: process.version,
    msgpack: JSON.parse(readFileSync(require.resolve('@msgpack/msgpack/package.json'), 'utf8')).version as string,
    cases: nodeFigures(),
  };
  let python: EncodingFigures['python'];
  try {
    const env = { ...process.env, PYTHONPATH: join(__dirname, '..', 'priv', 'python') };
    python = JSON.parse(execFileSync(pythonInterpreter(), [join(__dirname, 'encoding_bench.py'), String(ROUNDS)], { env, encoding: 'utf8' }));
  } catch (error) {
    skipped.push(`Python: the helper failed (${(error as Error).message.split('\n')[0]})`);
  }
  if (python && !python.msgpack) skipped.push("Python MessagePack: this Python has no msgpack (Debian's python3-msgpack; see scripts/setup-bench.sh)");
  if (python && !python.numpy) skipped.push('Python 1 MiB array: this Python has no numpy (see scripts/setup-bench.sh)');
  return { rounds: ROUNDS, node, python, skipped };
}

const cell = (f?: FormatFigure) => (f ? (f.totalUs < 10 ? f.totalUs.toFixed(2) : f.totalUs < 100 ? f.totalUs.toFixed(1) : f.totalUs.toFixed(0)) : '-');
const vs = (f?: Partial<Record<FormatName, FormatFigure>>) => (f?.ours && f.msgpack ? `${(f.msgpack.totalUs / f.ours.totalUs).toFixed(2)}×` : '-');

export function printEncoding(e: EncodingFigures): void {
  const py = e.python?.cases ?? {};
  console.log(`\nEncode + decode, µs per value (median of ${e.rounds} rounds)   Node ours  msgpack  msgpack/ours   Python ours  msgpack  msgpack/ours`);
  for (const [name, label] of Object.entries(CASES) as Array<[CaseName, string]>) {
    const n = e.node.cases[name];
    const p = py[name];
    console.log(
      `  ${label.padEnd(44)} ${cell(n?.ours).padStart(14)} ${cell(n?.msgpack).padStart(8)} ${vs(n).padStart(13)}   ${cell(p?.ours).padStart(11)} ${cell(p?.msgpack).padStart(8)} ${vs(p).padStart(13)}`,
    );
  }
  console.log('  encode / decode apart, µs:');
  const split = (f?: FormatFigure) => (f ? `${f.encodeUs.toFixed(1)} / ${f.decodeUs.toFixed(1)}` : '-');
  for (const [name, label] of Object.entries(CASES) as Array<[CaseName, string]>) {
    const n = e.node.cases[name];
    const p = py[name];
    console.log(`    ${label.padEnd(42)} ${split(n?.ours).padStart(14)} ${split(n?.msgpack).padStart(16)}   ${split(p?.ours).padStart(16)} ${split(p?.msgpack).padStart(16)}`);
  }
  const copies = (f?: FormatFigure) => (f ? (f.arrayViewsInput ? 'views the bytes decoded' : 'a copy') + (f.arrayWritable === false ? ', read-only' : '') : '-');
  const a = e.node.cases.array1MiB;
  const pa = py.array1MiB;
  console.log(`  1 MiB array after decode: Node ours ${copies(a?.ours)}, msgpack ${copies(a?.msgpack)}; Python ours ${copies(pa?.ours)}, msgpack ${copies(pa?.msgpack)}`);
  for (const reason of e.skipped) console.log(`  skipped: ${reason}`);
}
