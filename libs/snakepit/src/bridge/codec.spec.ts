import { DataPlane } from '../data/data-plane';
import {
  PayloadTooLargeError,
  PythonException,
  PythonKeyError,
  PythonValueError,
  SerializationError,
  SessionNotFoundError,
  SharedMemoryError,
  UnknownToolError,
} from '../errors';
import { decodeError, decodeReply } from './codec';
import type { WireValue } from './wire';

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
/** What a pool without shared memory decodes results with. */
const data = new DataPlane(undefined, { thresholdBytes: Infinity });
const decode = (value: WireValue | undefined) => data.incoming(value);

describe('decodeReply', () => {
  it('returns a result as the data plane decodes it: JSON as values, a bytes tag as a Buffer', () => {
    expect(decodeReply('t', { outcome: 'result', result: { json: json({ a: [1] }), buffers: [], tags: 0 } }, decode)).toEqual({
      ok: true,
      value: { a: [1] },
    });
    const bytes = Buffer.from([0, 1, 255]);
    const result = { json: json({ $snakepit: 'bytes', buffer: 0 }), buffers: [{ inline: bytes }], tags: 1 };
    const decoded = decodeReply('t', { outcome: 'result', result }, decode);
    expect(decoded.ok && Buffer.isBuffer(decoded.value) && decoded.value.equals(bytes)).toBe(true);
  });

  it('gives null for a reply without a result', () => {
    expect(decodeReply('t', { outcome: 'result' }, decode)).toEqual({ ok: true, value: null });
  });

  it('maps Python exceptions to typed errors with type, message and traceback, without decoding a result', () => {
    const decodeNothing = () => {
      throw new Error('an error reply has no result to decode');
    };
    const decoded = decodeReply(
      't',
      { outcome: 'error', error: { type: 'ValueError', message: 'bad x', traceback: 'Traceback ...', detailsJson: json({ module: 'builtins' }) } },
      decodeNothing,
    );
    expect(decoded.ok).toBe(false);
    const error = (decoded as { error: unknown }).error;
    expect(error).toBeInstanceOf(PythonValueError);
    expect(error).toMatchObject({ code: 'python_value_error', pythonType: 'ValueError', message: 'bad x', traceback: 'Traceback ...' });
  });
});

describe('decodeError', () => {
  const info = (type: string, details: unknown = {}) => ({ type, message: 'm', traceback: '', detailsJson: json(details) });

  it('keeps unknown Python types as PythonException', () => {
    const error = decodeError('t', info('MyCustomError'));
    expect(error).toBeInstanceOf(PythonException);
    expect(error).toMatchObject({ code: 'python_exception', pythonType: 'MyCustomError' });
  });

  it('maps KeyError, and a subclass of it by its bases', () => {
    expect(decodeError('t', info('KeyError'))).toBeInstanceOf(PythonKeyError);
    expect(decodeError('t', info('MissingThing', { bases: ['KeyError', 'LookupError'] }))).toBeInstanceOf(PythonKeyError);
  });

  it('reads details that are not JSON as none', () => {
    const error = decodeError('t', { type: 'UnknownToolError', message: 'm', traceback: '', detailsJson: Buffer.from('{not json') });
    expect((error as UnknownToolError).available).toEqual([]);
  });

  it('maps the bridge’s own failures to host errors', () => {
    const unknown = decodeError('nope', info('UnknownToolError', { available: ['a', 'b'] }));
    expect(unknown).toBeInstanceOf(UnknownToolError);
    expect((unknown as UnknownToolError).available).toEqual(['a', 'b']);
    expect(decodeError('t', info('PayloadTooLargeError'))).toBeInstanceOf(PayloadTooLargeError);
    expect(decodeError('t', info('SegmentError'))).toBeInstanceOf(SharedMemoryError);
    expect(decodeError('t', info('SharedMemoryError'))).toBeInstanceOf(SharedMemoryError);
  });

  it('keeps the path of a result that cannot be sent', () => {
    const error = decodeError('t', info('ResultNotSerializableError', { path: 'result.items[3]' }));
    expect(error).toBeInstanceOf(SerializationError);
    expect(error).toMatchObject({ direction: 'result', path: 'result.items[3]' });
  });

  it('maps the bridge’s "session is gone" to SessionNotFoundError, and a tool’s own class of that name to a Python error', () => {
    const gone = decodeError('t', info('SessionNotFoundError', { module: 'snakepit_bridge._host_errors' }), 's1');
    expect(gone).toBeInstanceOf(SessionNotFoundError);
    expect((gone as SessionNotFoundError).sessionId).toBe('s1');
    expect(decodeError('t', info('SessionNotFoundError', { module: 'my_app.errors' }), 's1')).toBeInstanceOf(PythonException);
  });
});
