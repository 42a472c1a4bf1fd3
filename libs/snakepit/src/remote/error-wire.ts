import * as errors from '../errors';
import { RemoteError, SnakepitError } from '../errors';

/** An error as it crosses the broker: the class's name, its code and message, and its own facts
 *  (pool, tool, Python's type and traceback, …). */
export interface WireError {
  name: string;
  code: string;
  message: string;
  fields: Record<string, unknown>;
}

type ErrorClass = abstract new (...args: never[]) => SnakepitError;

/** Every concrete error class of the library, by class name. */
const CLASSES: ReadonlyMap<string, ErrorClass> = new Map(
  Object.entries(errors).filter(([, value]) => typeof value === 'function' && value.prototype instanceof SnakepitError) as Array<[string, ErrorClass]>,
);

const NOT_FIELDS = new Set(['name', 'code', 'message', 'stack', 'cause']);

/** `error` for the broker. Anything that is not a SnakepitError travels as a RemoteError
 *  (`internal_error`) with its message. */
export function errorToWire(error: unknown): WireError {
  if (!(error instanceof SnakepitError)) {
    return { name: 'RemoteError', code: 'internal_error', message: error instanceof Error ? error.message : String(error), fields: {} };
  }
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    if (NOT_FIELDS.has(key) || typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') continue;
    fields[key] = value;
  }
  return { name: error.name, code: error.code, message: error.message, fields };
}

/**
 * The error a host sent, as the same class with the same code, message and facts (a remote
 * PythonValueError is a PythonValueError). A class this version does not have becomes a
 * RemoteError with the code and message sent. The stack is the caller's, after a line that
 * names the host.
 */
export function errorFromWire(wire: WireError, hostId: string): SnakepitError {
  const known = CLASSES.get(wire.name);
  const error: SnakepitError = known ? (Object.create(known.prototype) as SnakepitError) : new RemoteError(wire.code, wire.message);
  if (known) {
    for (const [key, value] of Object.entries(wire.fields)) {
      // Facts are the instance's own; a name the class chain has (constructor, toJSON, toString,
      // a getter, __proto__) is never one, and a value under it would shadow the class's own.
      if (!NOT_FIELDS.has(key) && !(key in error)) Object.defineProperty(error, key, { value, writable: true, configurable: true, enumerable: true });
    }
    Object.defineProperty(error, 'message', { value: wire.message, writable: true, configurable: true, enumerable: false });
    Object.defineProperty(error, 'name', { value: wire.name, writable: true, configurable: true, enumerable: false });
    Object.defineProperty(error, 'code', { value: wire.code, writable: false, configurable: true, enumerable: true });
  }
  const here = new Error().stack?.split('\n').slice(2).join('\n') ?? '';
  Object.defineProperty(error, 'stack', { value: `${wire.name}: ${wire.message}\n    at host ${hostId}\n${here}`, writable: true, configurable: true, enumerable: false });
  return error;
}

/** Whether `value` has the shape of a WireError. */
export function isWireError(value: unknown): value is WireError {
  const v = value as WireError;
  return typeof v === 'object' && v !== null && typeof v.name === 'string' && typeof v.code === 'string' && typeof v.message === 'string' && typeof v.fields === 'object' && v.fields !== null;
}
