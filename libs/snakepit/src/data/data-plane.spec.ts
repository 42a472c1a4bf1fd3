import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SharedMemoryLimitError } from '../errors';
import type { WireBuffer, WireValue } from '../bridge/wire';
import { SharedValues } from '../pool/shared-values';
import { SharedMemoryDir } from '../process/shared-memory-dir';
import { DataPlane } from './data-plane';
import { NdArray } from './nd-array';
import { ValueDecodingError } from './value-decoder';

const THRESHOLD = 100;
const bytes = (length: number, fill: number) => Buffer.alloc(length, fill);
const wire = (tree: unknown, buffers: WireBuffer[]): WireValue => ({ json: Buffer.from(JSON.stringify(tree)), buffers, tags: 1 });
const bytesTag = (buffer: number) => ({ $snakepit: 'bytes', buffer });
/** Bytes as elements of `Typed`, copied (a Buffer's slice() would be a view of its pool). */
const elements = <T>(Typed: new (buffer: ArrayBuffer) => T, of: Uint8Array) => new Typed(new Uint8Array(of).buffer);

describe('DataPlane', () => {
  let parent: string;
  let dir: SharedMemoryDir;
  let plane: DataPlane;

  beforeAll(() => {
    parent = mkdtempSync(join(tmpdir(), 'snakepit-data-plane-spec-'));
  });
  afterAll(() => rmSync(parent, { recursive: true, force: true }));
  beforeEach(() => {
    dir = new SharedMemoryDir('run1', parent);
    plane = new DataPlane(dir, { thresholdBytes: THRESHOLD });
  });
  afterEach(() => dir.removeAll());

  const file = (name: string) => join(dir.path, name);

  describe('outgoing', () => {
    it('keeps buffers below the threshold inside the message, and counts them', () => {
      const out = plane.outgoing({ a: bytes(THRESHOLD - 1, 1) }, 'args');
      expect(out.value.buffers).toEqual([{ inline: bytes(THRESHOLD - 1, 1) }]);
      expect(out.segments).toEqual([]);
      expect(out.messageBytes).toBe(out.value.json.byteLength + THRESHOLD - 1 + 8);
      expect(dir.list()).toEqual([]);
    });

    it('puts the buffers of a value at or above the threshold in one segment, each at a 64-byte-aligned offset', () => {
      const large = [bytes(THRESHOLD, 2), bytes(3 * THRESHOLD, 3)];
      const out = plane.outgoing({ small: bytes(10, 1), large, typed: new Float64Array(13).fill(0.5) }, 'args');
      expect(out.segments).toHaveLength(1);
      const [name] = out.segments;
      expect(name).toMatch(/^h/);
      const [small, ...placed] = out.value.buffers;
      expect(small.inline).toEqual(bytes(10, 1));
      expect(placed.map((b) => b.segment)).toEqual([
        { name, offset: 0, length: THRESHOLD },
        { name, offset: 128, length: 3 * THRESHOLD },
        { name, offset: 448, length: 104 },
      ]);
      const content = readFileSync(file(name));
      expect(content.subarray(0, THRESHOLD)).toEqual(large[0]);
      expect(content.subarray(128, 128 + 3 * THRESHOLD)).toEqual(large[1]);
      expect(elements(Float64Array, content.subarray(448))).toEqual(new Float64Array(13).fill(0.5));
      expect(statSync(file(name)).size).toBe(448 + 104);
      expect(out.messageBytes).toBe(out.value.json.byteLength + 10 + 8);
    });

    it('gives each value a segment of its own', () => {
      const first = plane.outgoing(bytes(THRESHOLD, 1), 'args');
      const second = plane.outgoing(bytes(THRESHOLD, 2), 'args');
      expect(first.segments[0]).not.toBe(second.segments[0]);
      expect(dir.list().sort()).toEqual([...first.segments, ...second.segments].sort());
    });

    it('with an infinite threshold never makes a segment, and tells workers of none', () => {
      const inline = new DataPlane(dir, { thresholdBytes: Infinity });
      const out = inline.outgoing({ big: bytes(1 << 20, 1) }, 'args');
      expect(out.value.buffers[0].inline?.byteLength).toBe(1 << 20);
      expect(out.segments).toEqual([]);
      expect(inline.forWorker('default-1')).toBeUndefined();
      expect(inline.directory).toBeUndefined();
      expect(dir.list()).toEqual([]);
    });

    it('tells each new worker the directory, a prefix of its own and the threshold', () => {
      const [a, b] = [plane.forWorker('default-1')!, plane.forWorker('default-2')!];
      expect(a).toEqual({ dir: dir.path, prefix: expect.stringMatching(/^w[a-z0-9]+$/), thresholdBytes: THRESHOLD });
      expect(b.prefix).not.toBe(a.prefix);
      expect(plane.directory).toBe(dir.path);
    });
  });

  describe('incoming', () => {
    it('reads the buffers a worker put in its segment, and removes the segment', () => {
      dir.write('w1.1', [bytes(64, 0), new Uint8Array(new Float64Array([1.5, -2]).buffer)]);
      const tree = { array: { $snakepit: 'ndarray', dtype: 'float64', shape: [2, 1], buffer: 0 }, small: bytesTag(1) };
      const value = plane.incoming(wire(tree, [{ segment: { name: 'w1.1', offset: 64, length: 16 } }, { inline: Buffer.from('hi') }])) as {
        array: NdArray;
        small: Buffer;
      };
      expect([...value.array.data]).toEqual([1.5, -2]);
      expect(value.array.shape).toEqual([2, 1]);
      expect(value.small).toEqual(Buffer.from('hi'));
      expect(existsSync(file('w1.1'))).toBe(false);
    });

    it('reads worker segments whatever the threshold', () => {
      dir.write('w7.1', [Buffer.from('abc')]);
      const inline = new DataPlane(dir, { thresholdBytes: Infinity });
      expect(inline.incoming(wire(bytesTag(0), [{ segment: { name: 'w7.1', offset: 1, length: 2 } }]))).toEqual(Buffer.from('bc'));
      expect(dir.list()).toEqual([]);
    });

    it('gives null for no value', () => {
      expect(plane.incoming(undefined)).toBeNull();
      expect(plane.incoming({ json: new Uint8Array(0), buffers: [], tags: 0 })).toBeNull();
    });

    it.each(['h1', 's2', 'w.1', 'wA.1', 'x1.1'])('refuses a segment named %s (not one a worker makes), and leaves it', (name) => {
      dir.write(name, [Buffer.from('x')]);
      expect(() => plane.incoming(wire(bytesTag(0), [{ segment: { name, offset: 0, length: 1 } }]))).toThrow(ValueDecodingError);
      expect(existsSync(file(name))).toBe(true);
    });

    it('refuses a segment when it has no directory', () => {
      const none = new DataPlane(undefined, { thresholdBytes: Infinity });
      expect(() => none.incoming(wire(bytesTag(0), [{ segment: { name: 'w1.1', offset: 0, length: 1 } }]))).toThrow(/not one this worker made/);
    });

    it('removes the worker segments of a value it cannot decode', () => {
      dir.write('w1.1', [Buffer.from('x')]);
      const broken = wire({ $snakepit: 'nope', buffer: 0 }, [{ segment: { name: 'w1.1', offset: 0, length: 1 } }]);
      expect(() => plane.incoming(broken)).toThrow(ValueDecodingError);
      expect(dir.list()).toEqual([]);
    });
  });

  it('discard() removes the worker segments a value names, unread, and nothing else', () => {
    for (const name of ['w1.1', 'w1.2', 'h3']) dir.write(name, [Buffer.from('x')]);
    const buffers = ['w1.1', 'h3'].map((name) => ({ segment: { name, offset: 0, length: 1 } }));
    plane.discard(wire([bytesTag(0), bytesTag(1)], [...buffers, { inline: Buffer.from('y') }]));
    expect(dir.list().sort()).toEqual(['h3', 'w1.2']);
  });

  it('sweep() removes every segment of a worker that exited, and nothing of another', () => {
    const a = plane.forWorker('default-1')!.prefix;
    const b = plane.forWorker('default-2')!.prefix;
    for (const name of [`${a}.1`, `${a}.2`, `${b}.1`]) dir.write(name, [Buffer.from('x')]);
    plane.sweep('default-1');
    expect(dir.list()).toEqual([`${b}.1`]);
  });

  it('takes from a worker only the segments it made, and no value holding more than maxValueBytes', () => {
    const limited = new DataPlane(dir, { thresholdBytes: THRESHOLD, maxValueBytes: 1000 });
    const a = limited.forWorker('default-1')!.prefix;
    const b = limited.forWorker('default-2')!.prefix;
    dir.write(`${b}.1`, [Buffer.alloc(8)]);
    expect(() => limited.incoming(wire(bytesTag(0), [{ segment: { name: `${b}.1`, offset: 0, length: 8 } }]), 'default-1')).toThrow(/not one this worker made/);
    dir.write(`${a}.1`, [Buffer.alloc(8)]);
    expect(limited.incoming(wire(bytesTag(0), [{ segment: { name: `${a}.1`, offset: 0, length: 8 } }]), 'default-1')).toEqual(Buffer.alloc(8));
    dir.write(`${a}.2`, [Buffer.alloc(8)]);
    expect(() => limited.incoming(wire(bytesTag(0), [{ segment: { name: `${a}.2`, offset: 0, length: 2 ** 40 } }]), 'default-1')).toThrow(SharedMemoryLimitError);
    expect(dir.list()).toEqual([]); // read, refused or not: gone
    expect(() => limited.outgoing({ big: bytes(1001, 1) }, 'args')).toThrow(SharedMemoryLimitError);
  });

  it('hold() keeps a call’s argument segments and the shared values it names until let go', async () => {
    const shared = new SharedValues('default', plane, 1 << 20, 0).share({ weights: bytes(8, 1) });
    const out = plane.outgoing({ model: shared, data: bytes(THRESHOLD, 2) }, 'args');
    expect(out.shared).toEqual([shared]);
    const letGo = plane.hold(out);
    await shared.close();
    expect(dir.list().sort()).toEqual([shared.name, `${shared.name}.meta`, ...out.segments].sort());
    letGo();
    expect(dir.list()).toEqual([]);
  });

  describe('writeShared', () => {
    it('writes every buffer of the value, however small, in segment <name>, and its JSON and layout in <name>.meta', () => {
      const encoded = plane.encodeShared({ weights: new Float32Array([1, 2]), labels: ['a'], raw: bytes(3, 9) });
      const { name, files } = plane.writeShared(encoded);
      expect(name).toMatch(/^s/);
      expect(files).toEqual([name, `${name}.meta`]);
      const meta = JSON.parse(readFileSync(file(`${name}.meta`), 'utf8'));
      expect(meta).toEqual({ json: encoded.json, tags: 2, buffers: [[name, 0, 8], [name, 64, 3]] });
      const content = readFileSync(file(name));
      expect(elements(Float32Array, content.subarray(0, 8))).toEqual(new Float32Array([1, 2]));
      expect(content.subarray(64)).toEqual(bytes(3, 9));
    });

    it('writes only <name>.meta for a value without buffers', () => {
      const { name, files } = plane.writeShared(plane.encodeShared({ config: { depth: 3 } }));
      expect(files).toEqual([`${name}.meta`]);
      expect(dir.list()).toEqual([`${name}.meta`]);
    });

    it('is refused when shared memory is off', () => {
      const off = new DataPlane(dir, { thresholdBytes: Infinity });
      expect(() => off.writeShared(off.encodeShared({ a: 1 }))).toThrow(/keeps buffers inside messages/);
    });
  });
});
