import { readdirSync } from 'node:fs';
import { NdArray, ndarray, SerializationError } from '@snakepit/nestjs';
import { bootApp, rejectionOf, type TestApp } from './support/app';

/** The value model end to end: real workers, arrays and rich values both ways. */
describe('data', () => {
  let app: TestApp;
  let dir: string;
  beforeAll(async () => {
    app = await bootApp({ poolSize: 1 });
    await app.pool.ready();
    dir = app.pool.stats().sharedMemory.directory!;
  });
  afterAll(() => app.close());

  const segments = () => readdirSync(dir);

  it('sends typed arrays, bytes and dates, and Python sees numpy arrays, bytes and aware datetimes', async () => {
    const described = await app.pool.execute('describe', {
      f32: new Float32Array([1, 2, 3]),
      shaped: ndarray(new Int16Array(6), [2, 3]),
      big: new BigInt64Array([1n, -2n]),
      raw: Buffer.from('abc'),
      nested: { list: [new Uint8Array([1])] },
      when: new Date('2024-01-02T03:04:05.678Z'),
      huge: 2n ** 70n,
    });
    expect(described).toEqual({
      f32: { type: 'ndarray', dtype: 'float32', shape: [3], writable: true },
      shaped: { type: 'ndarray', dtype: 'int16', shape: [2, 3], writable: true },
      big: { type: 'ndarray', dtype: 'int64', shape: [2], writable: true },
      raw: { type: 'bytes' },
      nested: { list: [{ type: 'bytes' }] },
      when: { type: 'datetime', iso: '2024-01-02T03:04:05.678000+00:00', aware: true },
      huge: { type: 'int' },
    });
  });

  it('round-trips a large Float32Array through shared memory and leaves no segment', async () => {
    const data = new Float32Array(4 * 1024 * 1024).map((_, i) => i % 1000);
    const back = (await app.pool.execute('scale', { data, factor: 2 })) as NdArray<Float32Array>;
    expect(back).toBeInstanceOf(NdArray);
    expect(back.dtype).toBe('float32');
    expect(back.shape).toEqual([data.length]);
    expect(back.data[999]).toBe(1998);
    expect(back.data[1000]).toBe(0);
    expect(segments()).toEqual([]);
  });

  it('names where an unsendable value sits', async () => {
    const error = await rejectionOf(app.pool.execute('unsendable', {}));
    expect(error).toBeInstanceOf(SerializationError);
    expect(error.message).toContain('result.items[3].model is a value of type \'object\'');
    const args = await rejectionOf(app.pool.execute('describe', { a: [1, { f: () => 1 }] }));
    expect(args).toMatchObject({ constructor: SerializationError, path: 'args.a[1].f' });
  });
});
