import {
  NoHostAvailableError,
  PoolFailedError,
  PoolSaturatedError,
  PythonValueError,
  RemoteError,
  SessionStoreUnavailableError,
  SnakepitConfigError,
  SnakepitError,
  UnknownToolError,
} from '../errors';
import { errorFromWire, errorToWire, isWireError, type WireError } from './error-wire';

/** As the broker carries it: JSON text, parsed on the other side. */
const overTheWire = (error: unknown): WireError => JSON.parse(JSON.stringify(errorToWire(error))) as WireError;

describe('error-wire', () => {
  describe('round trip', () => {
    it('keeps a PythonValueError with its Python type and traceback', () => {
      const sent = new PythonValueError({ type: 'ValueError', message: 'bad value 3', traceback: 'Traceback (most recent call last):\n  File "x.py"\nValueError: bad value 3', module: 'tools.x' });
      const back = errorFromWire(overTheWire(sent), 'host-a');
      expect(back).toBeInstanceOf(PythonValueError);
      expect(back).toBeInstanceOf(SnakepitError);
      expect(back).toBeInstanceOf(Error);
      expect(back.code).toBe('python_value_error');
      expect(back.name).toBe('PythonValueError');
      expect(back.message).toBe('bad value 3');
      const python = back as PythonValueError;
      expect(python.pythonType).toBe('ValueError');
      expect(python.traceback).toBe(sent.traceback);
      expect(python.pythonModule).toBe('tools.x');
      expect(python.toJSON()).toEqual(sent.toJSON());
    });

    it('keeps a PoolSaturatedError with its pool and queue size', () => {
      const sent = new PoolSaturatedError('gpu', 17);
      const back = errorFromWire(overTheWire(sent), 'host-a');
      expect(back).toBeInstanceOf(PoolSaturatedError);
      expect(back.code).toBe('pool_saturated');
      expect(back.message).toBe(sent.message);
      expect(back).toMatchObject({ pool: 'gpu', maxQueueSize: 17 });
    });

    it('keeps an UnknownToolError with the tools available', () => {
      const sent = new UnknownToolError('nope', ['add', 'mul'], 'math');
      const back = errorFromWire(overTheWire(sent), 'host-a') as UnknownToolError;
      expect(back).toBeInstanceOf(UnknownToolError);
      expect(back.code).toBe('unknown_tool');
      expect(back.message).toBe(sent.message);
      expect(back.tool).toBe('nope');
      expect(back.available).toEqual(['add', 'mul']);
      expect(back.pool).toBe('math');
      expect(back.toJSON()).toEqual(sent.toJSON());
    });

    it('keeps a SessionStoreUnavailableError (without its cause)', () => {
      const sent = new SessionStoreUnavailableError('redis', 'connection refused', { cause: new Error('ECONNREFUSED') });
      const wire = overTheWire(sent);
      expect(wire.fields).not.toHaveProperty('cause');
      const back = errorFromWire(wire, 'host-a') as SessionStoreUnavailableError;
      expect(back).toBeInstanceOf(SessionStoreUnavailableError);
      expect(back.code).toBe('session_store_unavailable');
      expect(back.message).toBe(sent.message);
      expect(back.store).toBe('redis');
    });

    it('keeps a NoHostAvailableError and a SnakepitConfigError with their fields', () => {
      const busy = errorFromWire(overTheWire(new NoHostAvailableError('p', 120, 'all_busy')), 'h') as NoHostAvailableError;
      expect(busy).toBeInstanceOf(NoHostAvailableError);
      expect(busy).toMatchObject({ code: 'no_host_available', pool: 'p', waitedMs: 120, reason: 'all_busy' });
      const config = errorFromWire(overTheWire(new SnakepitConfigError(['a is bad', 'b is bad'])), 'h') as SnakepitConfigError;
      expect(config).toBeInstanceOf(SnakepitConfigError);
      expect(config.problems).toEqual(['a is bad', 'b is bad']);
    });

    it('keeps a RemoteError passed on by a host with its code', () => {
      const back = errorFromWire(overTheWire(new RemoteError('fancy_new', 'from a newer host')), 'h');
      expect(back).toBeInstanceOf(RemoteError);
      expect(back.code).toBe('fancy_new');
      expect(back.message).toBe('from a newer host');
    });

    it("keeps a PoolFailedError's getter working from the fields sent", () => {
      const back = errorFromWire(overTheWire(new PoolFailedError('p', 5, 60_000, 30_000, 'exit 1')), 'h') as PoolFailedError;
      expect(back).toBeInstanceOf(PoolFailedError);
      expect(back).toMatchObject({ pool: 'p', restarts: 5, windowMs: 60_000, cooldownMs: 30_000, lastFailure: 'exit 1' });
      expect(back.retryAfterMs).toBeGreaterThan(29_000);
      expect(back.retryAfterMs).toBeLessThanOrEqual(30_000);
    });

    it('sends the name, code, message and only the own data fields', () => {
      const wire = errorToWire(new UnknownToolError('t', ['a']));
      expect(wire).toEqual({ name: 'UnknownToolError', code: 'unknown_tool', message: expect.stringContaining('Unknown tool "t"'), fields: { tool: 't', available: ['a'], pool: undefined } });
      expect(isWireError(wire)).toBe(true);
    });

    it('gives the rebuilt error a stack that names the host, and a read-only code', () => {
      const back = errorFromWire(overTheWire(new PoolSaturatedError('p', 1)), 'host-7');
      expect(back.stack).toMatch(/^PoolSaturatedError: Pool "p" is saturated/);
      expect(back.stack).toContain('at host host-7');
      expect(() => {
        (back as { code: string }).code = 'other';
      }).toThrow(TypeError);
    });
  });

  describe('unknown classes', () => {
    it('becomes a RemoteError with the code and message sent', () => {
      const back = errorFromWire({ name: 'FancyNewError', code: 'fancy_new', message: 'something new', fields: { extra: 1 } }, 'host-b');
      expect(back).toBeInstanceOf(RemoteError);
      expect(back.code).toBe('fancy_new');
      expect(back.message).toBe('something new');
      expect(back.name).toBe('RemoteError');
      expect(back.stack).toContain('at host host-b');
    });

    it('does not take the abstract root class or names from the prototype chain', () => {
      for (const name of ['SnakepitError', 'Error', 'Object', 'constructor', '__proto__', 'toString']) {
        const back = errorFromWire({ name, code: 'x_code', message: 'm', fields: {} }, 'h');
        expect(back).toBeInstanceOf(RemoteError);
        expect(back.code).toBe('x_code');
      }
    });
  });

  describe('hostile wire errors', () => {
    const hostile = (): WireError =>
      JSON.parse('{"name":"PoolSaturatedError","code":"pool_saturated","message":"m","fields":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"pool":"p","maxQueueSize":2}}') as WireError;

    afterEach(() => {
      delete (Object.prototype as Record<string, unknown>).polluted;
    });

    it('pollutes no prototype', () => {
      const wire = hostile();
      expect(Object.keys(wire.fields)).toEqual(['__proto__', 'constructor', 'pool', 'maxQueueSize']);
      const back = errorFromWire(wire, 'h');
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
      expect((PoolSaturatedError.prototype as unknown as Record<string, unknown>).polluted).toBeUndefined();
      expect((SnakepitError.prototype as unknown as Record<string, unknown>).polluted).toBeUndefined();
      expect((Error.prototype as unknown as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.getPrototypeOf(back)).toBe(PoolSaturatedError.prototype);
      expect((back as unknown as Record<string, unknown>).polluted).toBeUndefined();
      expect(back).toBeInstanceOf(PoolSaturatedError);
      expect(back).toMatchObject({ pool: 'p', maxQueueSize: 2 });
      // A new error of the class is untouched too.
      expect((new PoolSaturatedError('q', 1) as unknown as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('keeps the class as the constructor, and methods as methods', () => {
      const wire = hostile();
      Object.assign(wire.fields, { toJSON: 'not a function', toString: 'not a function', retryAfterMs: 5 });
      const back = errorFromWire(wire, 'h');
      expect(back.constructor).toBe(PoolSaturatedError);
      expect(typeof back.toJSON).toBe('function');
      expect(back.toJSON()).toEqual({ name: 'PoolSaturatedError', code: 'pool_saturated', message: 'm' });
      expect(String(back)).toBe('PoolSaturatedError: m');
    });

    it('does not let fields replace the name, code, message or stack', () => {
      const back = errorFromWire({ name: 'PoolSaturatedError', code: 'pool_saturated', message: 'm', fields: { name: 'X', code: 'y', message: 'z', stack: 's', cause: 'c' } }, 'h');
      expect(back.name).toBe('PoolSaturatedError');
      expect(back.code).toBe('pool_saturated');
      expect(back.message).toBe('m');
      expect(back.stack).toContain('at host h');
      expect(back.cause).toBeUndefined();
    });
  });

  describe('errors that are not Snakepit errors', () => {
    it('travel as internal_error RemoteErrors with their message', () => {
      expect(errorToWire(new TypeError('boom'))).toEqual({ name: 'RemoteError', code: 'internal_error', message: 'boom', fields: {} });
      expect(errorToWire('a string')).toEqual({ name: 'RemoteError', code: 'internal_error', message: 'a string', fields: {} });
      expect(errorToWire(undefined)).toMatchObject({ code: 'internal_error', message: 'undefined' });
      const back = errorFromWire(overTheWire(new RangeError('out of range')), 'h');
      expect(back).toBeInstanceOf(RemoteError);
      expect(back.code).toBe('internal_error');
      expect(back.message).toBe('out of range');
    });

    it('leaves functions, symbols and bigints out of the fields', () => {
      const error = new PoolSaturatedError('p', 1) as PoolSaturatedError & Record<string, unknown>;
      error.fn = () => 1;
      error.sym = Symbol('s');
      error.big = BigInt(1);
      const wire = errorToWire(error);
      expect(Object.keys(wire.fields).sort()).toEqual(['maxQueueSize', 'pool']);
      expect(() => JSON.stringify(wire)).not.toThrow();
    });
  });

  describe('isWireError', () => {
    it('tells wire errors from other values', () => {
      expect(isWireError({ name: 'a', code: 'b', message: 'c', fields: {} })).toBe(true);
      for (const value of [null, undefined, 'x', 1, {}, { name: 'a', code: 'b', message: 'c' }, { name: 'a', code: 'b', message: 'c', fields: null }, { name: 1, code: 'b', message: 'c', fields: {} }]) {
        expect(isWireError(value)).toBe(false);
      }
    });
  });
});
