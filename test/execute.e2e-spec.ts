import {
  PythonAttributeError,
  PythonError,
  PythonException,
  PythonFileNotFoundError,
  PythonImportError,
  PythonIndexError,
  PythonKeyError,
  PythonNotImplementedError,
  PythonPermissionError,
  PythonRuntimeError,
  PythonTypeError,
  PythonValueError,
  PythonZeroDivisionError,
  PythonLookupError,
  PythonArithmeticError,
  PythonOSError,
  PythonTimeoutError,
  SerializationError,
  SnakepitError,
  UnknownToolError,
  InvalidCallError,
  PayloadTooLargeError,
} from '@snakepit/nestjs';
import { bootApp, rejectionOf, type TestApp } from './support/app';

describe('results larger than maxMessageBytes', () => {
  it('fail with PayloadTooLargeError and leave the worker serving, when they travel inside messages', async () => {
    const app = await bootApp({ poolSize: 1, maxMessageBytes: 64 * 1024, sharedMemory: { enabled: false } });
    try {
      const pid = await app.pool.execute('pid');
      const error = await rejectionOf(app.pool.execute('bytes_of', { n: 100 * 1024 }));
      expect(error).toBeInstanceOf(PayloadTooLargeError);
      expect(error.direction).toBe('result');
      expect(error.message).toMatch(/^The result of "bytes_of" is too large \(/);
      const huge = await rejectionOf(app.pool.execute('raise_error', { type: 'ValueError', message: '汉'.repeat(15_000) }));
      expect(huge).toBeInstanceOf(PythonValueError);
      expect(huge.message).toContain('bytes truncated');
      await expect(app.pool.execute('pid')).resolves.toBe(pid);
    } finally {
      await app.close();
    }
  });

  it('succeed when their bytes go through shared memory', async () => {
    const app = await bootApp({ poolSize: 1, maxMessageBytes: 64 * 1024 });
    try {
      expect(((await app.pool.execute('bytes_of', { n: 100 * 1024 })) as Buffer).length).toBe(100 * 1024);
    } finally {
      await app.close();
    }
  });
});

describe('PoolService.execute with real Python workers', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await bootApp({ poolSize: 2 });
    await app.pool.ready(); // the stats test expects both workers up; calls alone need only one
  });
  afterAll(() => app.close());

  it('runs a tool and returns its JSON result', async () => {
    await expect(app.pool.execute('add', { a: 2, b: 40 })).resolves.toBe(42);
    await expect(app.pool.execute('echo', { nested: { list: [1, 'two', null, true] } })).resolves.toEqual({
      nested: { list: [1, 'two', null, true] },
    });
    const pong = await app.pool.execute<{ pong: boolean; pid: number }>('ping');
    expect(pong.pong).toBe(true);
    expect(app.pool.listWorkers().map((w) => w.pid)).toContain(pong.pid);
  });

  it('runs async tools', async () => {
    await expect(app.pool.execute('async_add', { a: 1, b: 2 })).resolves.toBe(3);
  });

  it('returns bytes as a Buffer', async () => {
    const bytes = await app.pool.execute<Buffer>('bytes_of', { n: 5, fill: 7 });
    expect(Buffer.isBuffer(bytes)).toBe(true);
    expect([...bytes]).toEqual([7, 7, 7, 7, 7]);
  });

  it('carries unicode and large values intact', async () => {
    const text = 'snake 🐍 — ünïcode'.repeat(1000);
    await expect(app.pool.execute('echo', { text })).resolves.toEqual({ text });
  });

  it.each([
    ['ValueError', PythonValueError, 'python_value_error'],
    ['KeyError', PythonKeyError, 'python_key_error'],
    ['IndexError', PythonIndexError, 'python_index_error'],
    ['TypeError', PythonTypeError, 'python_type_error'],
    ['AttributeError', PythonAttributeError, 'python_attribute_error'],
    ['ImportError', PythonImportError, 'python_import_error'],
    ['RuntimeError', PythonRuntimeError, 'python_runtime_error'],
    ['NotImplementedError', PythonNotImplementedError, 'python_not_implemented_error'],
    ['FileNotFoundError', PythonFileNotFoundError, 'python_file_not_found_error'],
    ['PermissionError', PythonPermissionError, 'python_permission_error'],
    ['ZeroDivisionError', PythonZeroDivisionError, 'python_zero_division_error'],
    ['LookupError', PythonLookupError, 'python_lookup_error'],
    ['OverflowError', PythonArithmeticError, 'python_arithmetic_error'],
    ['ConnectionRefusedError', PythonOSError, 'python_os_error'],
    ['TimeoutError', PythonTimeoutError, 'python_timeout_error'],
    ['Custom', PythonException, 'python_exception'],
  ])('turns a Python %s into a typed error', async (type, ErrorClass, code) => {
    const error = await rejectionOf(app.pool.execute('raise_error', { type, message: `bad ${type}` }));
    expect(error).toBeInstanceOf(ErrorClass);
    expect(error).toBeInstanceOf(PythonError);
    expect(error).toBeInstanceOf(SnakepitError);
    expect(error.code).toBe(code);
    expect(error.pythonType).toBe(type === 'Custom' ? 'ShowcaseError' : type);
    expect(error.message).toContain(`bad ${type}`);
    expect(error.traceback).toMatch(/Traceback \(most recent call last\)/);
    expect(error.traceback).toContain('raise_error');
  });

  it('types a subclass of a built-in exception by its nearest known base', async () => {
    const error = await rejectionOf(app.pool.execute('raise_error', { type: 'UnicodeError', message: 'bad bytes' }));
    expect(error).toBeInstanceOf(PythonValueError);
    expect(error.pythonType).toBe('UnicodeError');
  });

  it('refuses arguments larger than maxMessageBytes before sending them', async () => {
    const error = await rejectionOf(app.pool.execute('echo', { blob: 'x'.repeat(70 * 1024 * 1024) }));
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(error.direction).toBe('arguments');
  });

  it('names the tools that exist when the tool is unknown', async () => {
    const error = await rejectionOf(app.pool.execute('no_such_tool'));
    expect(error).toBeInstanceOf(UnknownToolError);
    expect(error.code).toBe('unknown_tool');
    expect(error.available).toEqual(expect.arrayContaining(['add', 'echo', 'ping', 'sleep']));
    expect(error.message).toContain('add');
  });

  it('refuses arguments that cannot be serialised before sending them', async () => {
    const before = app.pool.stats().requests;
    const error = await rejectionOf(app.pool.execute('echo', { seen: new Set([1]) }));
    expect(error).toBeInstanceOf(SerializationError);
    expect([error.direction, error.path]).toEqual(['arguments', 'args.seen']);
    expect(app.pool.stats().requests).toBe(before);
  });

  it('reports a result Python cannot serialise', async () => {
    const error = await rejectionOf(app.pool.execute('unserializable'));
    expect(error).toBeInstanceOf(SerializationError);
    expect(error.direction).toBe('result');
    expect(error.message).toContain('unserializable');
  });

  it('passes Python argument mistakes on as TypeError', async () => {
    // Python's own check: the host's (ToolArgumentsError, test/contracts.e2e-spec.ts) is turned off.
    const error = await rejectionOf(app.pool.execute('add', { a: 1 }, { validateArguments: false }));
    expect(error).toBeInstanceOf(PythonTypeError);
    expect(error.message).toContain('b');
  });

  it('refuses malformed calls', async () => {
    await expect(app.pool.execute('', {})).rejects.toBeInstanceOf(InvalidCallError);
    await expect(app.pool.execute('add', { a: 1, b: 2 }, { timeoutMs: -5 })).rejects.toThrow(/timeoutMs must be a number of milliseconds from 1/);
  });

  it('reports stats and workers', async () => {
    const stats = app.pool.stats();
    expect(stats).toMatchObject({ pool: 'default', status: 'ready', workers: { total: 2, ready: 2 }, busy: 0, queued: 0 });
    expect(stats.requests).toBeGreaterThan(10);
    expect(stats.errors).toBeGreaterThan(10);
    expect(stats.succeeded).toBeGreaterThan(3);
    const workers = app.pool.listWorkers();
    expect(workers).toHaveLength(2);
    for (const worker of workers) {
      expect(worker).toMatchObject({ pool: 'default', state: 'ready', inFlight: 0 });
      expect(worker.pid).toEqual(expect.any(Number));
    }
  });
});
