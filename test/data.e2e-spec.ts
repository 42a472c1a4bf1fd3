import { readdirSync, statSync } from 'node:fs';
import {
  NdArray,
  ndarray,
  SerializationError,
  SessionService,
  SharedMemoryBudgetError,
  SharedValueClosedError,
  ToolRegistryService,
  WorkerCrashError,
  PythonValueError,
  RequestTimeoutError,
  SharedMemoryLimitError,
} from '@snakepit/nestjs';
import { bootApp, rejectionOf, type TestApp } from './support/app';
import { eventually } from './support/processes';
import { hasPythonModules } from './support/python-modules';

const hasPandas = hasPythonModules('pandas');
const MIB = 1024 * 1024;
const floats = (n: number) => new Float32Array(n).map((_, i) => i % 1000);

/** The value model end to end, with real workers: arrays and rich values both ways, large data
 *  through shared memory, and no segment left behind. */
describe('data', () => {
  let app: TestApp;
  let dir: string;
  beforeAll(async () => {
    app = await bootApp({ poolSize: 1, sharedMemory: { budgetBytes: 32 * MIB } });
    await app.pool.ready();
    dir = app.pool.stats().sharedMemory.directory!;
  });
  afterAll(() => app.close());

  const segments = () => readdirSync(dir);

  it('gives Python numpy arrays of the matching dtype, bytes, aware datetimes and ints', async () => {
    const described = await app.pool.execute('describe', {
      f32: new Float32Array([1, 2, 3]),
      f64: new Float64Array(2),
      i8: new Int8Array(1),
      u16: new Uint16Array(1),
      i32: new Int32Array(1),
      u32: new Uint32Array(1),
      clamped: new Uint8ClampedArray(2),
      shaped: ndarray(new Int16Array(6), [2, 3]),
      empty: ndarray(new Float32Array(0), [0, 3]),
      flags: ndarray(new Uint8Array([0, 1]), [2], 'bool'),
      big: new BigInt64Array([1n, -2n]),
      ubig: new BigUint64Array([2n ** 64n - 1n]),
      raw: Buffer.from('abc'),
      view: new Uint8Array([1, 2]),
      nested: { list: [new Uint8Array([1]), [new Date(0)]] },
      when: new Date('2024-01-02T03:04:05.678Z'),
      huge: 2n ** 70n,
      large: floats(MIB), // 4 MiB: through shared memory
    });
    const array = (dtype: string, shape: number[]) => ({ type: 'ndarray', dtype, shape, writable: true });
    expect(described).toEqual({
      f32: array('float32', [3]),
      f64: array('float64', [2]),
      i8: array('int8', [1]),
      u16: array('uint16', [1]),
      i32: array('int32', [1]),
      u32: array('uint32', [1]),
      clamped: array('uint8', [2]),
      shaped: array('int16', [2, 3]),
      empty: array('float32', [0, 3]),
      flags: array('bool', [2]),
      big: array('int64', [2]),
      ubig: array('uint64', [1]),
      raw: { type: 'bytes' },
      view: { type: 'bytes' },
      nested: { list: [{ type: 'bytes' }, [{ type: 'datetime', iso: '1970-01-01T00:00:00+00:00', aware: true }]] },
      when: { type: 'datetime', iso: '2024-01-02T03:04:05.678000+00:00', aware: true },
      huge: { type: 'int' },
      large: array('float32', [MIB]),
    });
    expect(segments()).toEqual([]);
  });

  it('gives the host NdArrays, Buffers, Dates, bigints and plain objects for what Python returns', async () => {
    const values = (await app.pool.execute('rich_values', {})) as Record<string, any>;
    const typed = { bool: Uint8Array, int8: Int8Array, uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array, float32: Float32Array, float64: Float64Array };
    for (const [dtype, Typed] of Object.entries(typed)) {
      const array = values.arrays[dtype] as NdArray;
      expect(array).toBeInstanceOf(NdArray);
      expect([array.dtype, array.shape, array.data.constructor]).toEqual([dtype, [2, 2], Typed]);
      expect(Array.from(array.data as ArrayLike<number | bigint>, (x) => Number(x))).toEqual(dtype === 'bool' ? [0, 1, 1, 1] : [0, 1, 2, 3]);
    }
    expect(Array.from(values.fortran.data)).toEqual([0, 1, 2, 3, 4, 5]); // C order
    expect(values.fortran.shape).toEqual([2, 3]);
    expect([values.big_endian.dtype, Array.from(values.big_endian.data)]).toEqual(['int32', [0, 1, 2]]);
    expect([values.empty.shape, values.empty.data.length]).toEqual([[0, 3], 0]);
    expect(values.scalars).toEqual({ i: 7, big: 2n ** 62n, f: 0.5, b: true, u: 255 });
    expect(values.big_int).toBe(2n ** 70n);
    expect(values.bytes.map((b: Buffer) => [Buffer.isBuffer(b), b.toString('latin1')])).toEqual([[true, '\x00\x01'], [true, 'ab'], [true, 'xyz']]);
    expect(values.when).toEqual(new Date('2024-01-02T03:04:05.678Z'));
    expect([values.naive, values.day, values.decimal, values.uuid]).toEqual(['2024-01-02T03:04:05', '2024-01-02', '1.10', '12345678-1234-5678-1234-567812345678']);
    expect([values.set, values.tuple, values.enum]).toEqual([[3], [1, 'a'], 'red']);
    expect(values.dataclass.name).toBe('m');
    expect(Array.from(values.dataclass.values.data)).toEqual([1.5]);
    expect([values.named, values.model, values.point]).toEqual([{ left: 1, right: 'r' }, { kind: 'model', when: '2024-05-06' }, { x: 1, y: 2 }]);
    expect(values.reserved).toEqual({ $snakepit: 'user data', n: 1 });
  });

  it('returns what it was given, unchanged, through Python and back', async () => {
    const sent = { v: new Float64Array([0.5, -1]), raw: Buffer.from([0, 255]), when: new Date(86_400_000), n: 2n ** 64n, $snakepit: 'mine', deep: [{ $snakepit: { x: [1] } }], empty: [], obj: {} };
    const back = (await app.pool.execute('echo', sent)) as any;
    expect(back.v).toEqual(ndarray(new Float64Array([0.5, -1])));
    expect(back.raw.equals(sent.raw)).toBe(true);
    expect([back.when, back.n, back.$snakepit, back.deep, back.empty, back.obj]).toEqual([sent.when, sent.n, 'mine', sent.deep, [], {}]);
  });

  (hasPandas ? it : it.skip)('sends a pandas DataFrame as columns', async () => {
    const frame = (await app.pool.execute('frame', {})) as Record<string, any>;
    expect(Object.keys(frame)).toEqual(['a', 'b', 'c']);
    expect([frame.a.dtype, Array.from(frame.a.data, Number)]).toEqual(['int64', [1, 2]]);
    expect([frame.b.dtype, Array.from(frame.b.data)]).toEqual(['float64', [0.5, 1.5]]);
    expect(frame.c).toEqual(['x', 'y']);
  });

  it('round-trips large arrays through shared memory, with no message limit, and leaves no segment', async () => {
    const data = floats(4 * MIB); // 16 MiB, four times this pool's maxMessageBytes below
    const small = await bootApp({ poolSize: 1, maxMessageBytes: 4 * MIB });
    try {
      const back = (await small.pool.execute('scale', { data, factor: 2 })) as NdArray<Float32Array>;
      expect([back.dtype, back.shape]).toEqual(['float32', [data.length]]);
      expect([back.data[999], back.data[1000], back.data[data.length - 1]]).toEqual([1998, 0, 2 * ((data.length - 1) % 1000)]);
      await expect(small.pool.execute('array_sum', { data })).resolves.toBe(data.reduce((a, b) => a + b, 0));
      expect(readdirSync(small.pool.stats().sharedMemory.directory!)).toEqual([]);
    } finally {
      await small.close();
    }
  });

  it('lets a tool write into its argument (its own copy) and fill a result in shared memory', async () => {
    const data = floats(MIB);
    await expect(app.pool.execute('mutate', { data })).resolves.toBe(MIB);
    expect(data[5]).toBe(5); // the host's array is untouched
    const made = (await app.pool.execute('filled', { n: 2 * MIB, dtype: 'float64', shape: [1024, 2048] })) as NdArray<Float64Array>;
    expect([made.dtype, made.shape, made.data[2 * MIB - 1]]).toEqual(['float64', [1024, 2048], 2 * MIB - 1]);
    expect(await rejectionOf(app.pool.execute('filled_then_fail', { n: MIB }))).toBeInstanceOf(PythonValueError);
    expect(segments()).toEqual([]);
  });

  it('streams arrays through shared memory, each chunk\'s segment gone once read', async () => {
    const seen: number[] = [];
    for await (const chunk of app.pool.executeStream<NdArray<Float32Array>>('array_chunks', { n: 4, size: MIB })) {
      seen.push(chunk.data.data[MIB - 1]);
    }
    expect(seen).toEqual([0, 1, 2, 3]);
    expect(segments()).toEqual([]);
  });

  it('leaves no segment when a stream of big chunks is left mid-way, or a caller gives up before the result', async () => {
    for await (const chunk of app.pool.executeStream<NdArray<Float32Array>>('array_chunks', { n: 5, size: 4 * MIB })) {
      expect(chunk.index).toBe(0);
      break; // the next chunk is made, and waits for credit that never comes
    }
    await eventually(() => app.pool.listWorkers()[0].inFlight === 0, 10_000, 'the stream to stop');
    expect(segments()).toEqual([]);
    expect(await rejectionOf(app.pool.execute('scale_after', { data: floats(MIB), ms: 300 }, { timeoutMs: 100 }))).toBeInstanceOf(RequestTimeoutError);
    await eventually(() => app.pool.listWorkers()[0].inFlight === 0, 10_000, 'the late reply');
    expect(segments()).toEqual([]);
  });

  it('sends each chunk of an output array reused across a stream as it was when yielded', async () => {
    const seen: number[] = [];
    for await (const chunk of app.pool.executeStream<NdArray<Float32Array>>('reused_output', { n: 3, size: MIB })) seen.push(chunk.data.data[7]);
    expect(seen).toEqual([0, 1, 2]);
    expect(segments()).toEqual([]);
  });

  it('keeps arrays in session state, for Python and for the host, and passes them to host tools', async () => {
    const sessions = app.module.get(SessionService);
    const { id } = await sessions.create();
    // 4 MiB in: read through shared memory, kept (as base64) within sessions.maxValueBytes.
    const stored = await app.pool.executeInSession(id, 'keep_in_state', { key: 'v', value: floats(100_000) });
    expect(stored).toEqual({ stored: { type: 'ndarray', dtype: 'float32', shape: [100_000], writable: true } });
    const value = (await sessions.getState(id, 'v')) as NdArray<Float32Array>;
    expect([value.dtype, value.data[999]]).toEqual(['float32', 999]);
    await sessions.setState(id, 'w', { at: new Date(0), v: new Int32Array([4, 5]) });
    expect(await app.pool.executeInSession(id, 'get_state', { key: 'w' })).toEqual({ at: new Date(0), v: ndarray(new Int32Array([4, 5])) });
    app.module.get(ToolRegistryService).register('double_it', ({ value }: { value: NdArray<Float32Array> }) => ndarray(value.data.map((x) => 2 * x), value.shape));
    const doubled = (await app.pool.execute('through_host_tool', { name: 'double_it', value: floats(MIB) })) as NdArray<Float32Array>;
    expect(doubled.data[999]).toBe(1998);
    const shared = await app.pool.share(floats(4));
    await expect(sessions.setState(id, 'handle', { shared })).rejects.toThrow(/state "handle".shared is a SharedValue/);
    await shared.close();
    expect(segments()).toEqual([]);
  });

  it('names where an unsendable value sits, both ways', async () => {
    const error = await rejectionOf(app.pool.execute('unsendable', {}));
    expect(error).toBeInstanceOf(SerializationError);
    expect(error.message).toContain("result.items[3].model is a value of type 'object'");
    for (const [args, path] of [
      [{ a: [1, { f: () => 1 }] }, 'args.a[1].f'],
      [{ m: new Map() }, 'args.m'],
      [{ x: { 'odd key': NaN } }, 'args.x["odd key"]'],
      [{ d: new Date(NaN) }, 'args.d'],
    ] as const) {
      expect(await rejectionOf(app.pool.execute('describe', args))).toMatchObject({ constructor: SerializationError, path });
    }
  });

  it('shares a value once for many calls, within a budget, until it is closed', async () => {
    const data = floats(2 * MIB);
    const shared = await app.pool.share(data);
    expect(app.pool.stats().sharedMemory).toMatchObject({ values: 1, bytes: shared.bytes, budgetBytes: 32 * MIB });
    expect(shared.bytes).toBeGreaterThanOrEqual(8 * MIB);
    const total = data.reduce((a, b) => a + b, 0);
    const sums = await Promise.all([1, 2, 3].map(() => app.pool.execute('array_sum', { data: shared })));
    expect(sums).toEqual([total, total, total]);
    const structure = await app.pool.share({ data: new Int8Array(3), label: 'weights' });
    expect(await app.pool.execute('describe', { s: structure })).toEqual({ s: { data: { type: 'ndarray', dtype: 'int8', shape: [3], writable: true }, label: { type: 'str' } } });
    await structure.close();
    expect(await rejectionOf(app.pool.share({ big: floats(7 * MIB) }))).toBeInstanceOf(SharedMemoryBudgetError);
    await shared.close();
    expect(segments()).toEqual([]);
    expect(app.pool.stats().sharedMemory).toMatchObject({ values: 0, bytes: 0 });
    expect(await rejectionOf(app.pool.execute('array_sum', { data: shared }))).toBeInstanceOf(SharedValueClosedError);
    {
      await using scoped = await app.pool.share(floats(16), { ttlMs: 60_000 });
      await expect(app.pool.execute('array_sum', { data: scoped })).resolves.toBe(120);
    }
    expect(segments()).toEqual([]);
    const expiring = await app.pool.share(floats(16), { ttlMs: 50 });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(expiring.closed).toBe(true);
    expect(segments()).toEqual([]);
  });

  it('keeps the segments of a call until it settles, also when its worker is SIGKILLed mid-call', async () => {
    const pid = app.pool.listWorkers()[0].pid!;
    const call = rejectionOf(app.pool.execute('filled_then_sleep', { n: MIB, ms: 30_000, data: floats(MIB) }));
    await eventually(() => segments().length === 2, 10_000, 'the argument and output segments');
    process.kill(pid, 'SIGKILL');
    expect(await call).toBeInstanceOf(WorkerCrashError);
    expect(segments()).toEqual([]);
  });

  it('keeps its directory and segments private: 0700 and 0600', async () => {
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const shared = await app.pool.share(floats(MIB));
    for (const name of segments()) expect(statSync(`${dir}/${name}`).mode & 0o777).toBe(0o600);
    await shared.close();
  });
});


describe('data, at 256 MiB', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await bootApp({ poolSize: 1 });
    await app.pool.ready();
  });
  afterAll(() => app.close());

  it('round-trips 256 MiB with the host\'s memory growing by about twice the payload at most', async () => {
    const payload = 256 * MIB;
    const data = new Float32Array(payload / 4).fill(1.5);
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    try {
      const back = (await app.pool.execute('scale', { data, factor: 2 })) as NdArray<Float32Array>;
      peak = Math.max(peak, process.memoryUsage().rss);
      expect([back.shape, back.data[0], back.data[data.length - 1]]).toEqual([[data.length], 3, 3]);
    } finally {
      clearInterval(sampler);
    }
    expect(peak - before).toBeLessThanOrEqual(2.2 * payload);
    expect(readdirSync(app.pool.stats().sharedMemory.directory!)).toEqual([]);
  });

  it('refuses a value over sharedMemory.maxValueBytes, either way, and the worker goes on', async () => {
    const limited = await bootApp({ poolSize: 1, sharedMemory: { maxValueBytes: 2 * MIB } });
    try {
      const pid = limited.pool.listWorkers()[0]?.pid ?? (await limited.pool.execute('pid'));
      expect(await rejectionOf(limited.pool.execute('array_sum', { data: floats(MIB) }))).toBeInstanceOf(SharedMemoryLimitError);
      expect(await rejectionOf(limited.pool.execute('filled', { n: MIB }))).toBeInstanceOf(SharedMemoryLimitError);
      await expect(limited.pool.execute('pid')).resolves.toBe(pid);
      expect(readdirSync(limited.pool.stats().sharedMemory.directory!)).toEqual([]);
    } finally {
      await limited.close();
    }
  });

  it('keeps buffers inside messages when shared memory is off', async () => {
    const inline = await bootApp({ poolSize: 1, sharedMemory: { enabled: false } });
    try {
      expect(inline.pool.stats().sharedMemory.directory).toBeUndefined();
      const back = (await inline.pool.execute('scale', { data: new Float32Array(MIB).fill(1), factor: 3 })) as NdArray<Float32Array>;
      expect(back.data[MIB - 1]).toBe(3);
    } finally {
      await inline.close();
    }
  });
});
