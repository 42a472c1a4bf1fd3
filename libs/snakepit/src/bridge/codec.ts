import {
  PayloadTooLargeError,
  SerializationError,
  SessionNotFoundError,
  SnakepitError,
  ToolKindError,
  UnknownToolError,
  pythonErrorFrom,
} from '../errors';
import type { WireErrorInfo, WireExecuteReply, WireValue } from './wire';

/**
 * Turns call arguments into the JSON bytes the worker expects. Values JSON would silently
 * change or drop (functions, symbols, undefined in arrays, NaN, BigInt, Map, Set, cycles)
 * are refused with a SerializationError before anything is sent.
 */
export function encodeArgs(tool: string, args: unknown): Buffer {
  if (args === undefined || args === null) return EMPTY_OBJECT;
  if (typeof args !== 'object' || Array.isArray(args) || changedByJson(args)) {
    throw new SerializationError('arguments', tool, 'arguments must be an object of keyword arguments');
  }
  let text: string;
  try {
    text = JSON.stringify(args, strictReplacer);
  } catch (error) {
    // Our replacer's findings, or JSON.stringify's own (cycles, BigInt inside toJSON).
    throw new SerializationError('arguments', tool, (error as Error).message);
  }
  return Buffer.from(text, 'utf8');
}

const EMPTY_OBJECT = Buffer.from('{}');

class Unserializable extends Error {}

/** Objects JSON.stringify would turn into something else ({}, a string, an index map). */
function changedByJson(value: object): string | undefined {
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return 'binary data (send it as a base64 string)';
  if (value instanceof Map || value instanceof Set) return `a ${value.constructor.name}; use an object or array`;
  if (value instanceof Date) return 'a Date';
  if (value instanceof RegExp || value instanceof Error) return `${/^[AEIOU]/.test(value.constructor.name) ? 'an' : 'a'} ${value.constructor.name}`;
  return undefined;
}

function strictReplacer(this: any, key: string, value: unknown): unknown {
  const where = key ? `"${key}"` : 'the value';
  // `value` has been through toJSON already; `this[key]` is what the caller passed.
  const original = key === '' ? value : this[key];
  if (original !== null && typeof original === 'object' && !(original instanceof Date)) {
    const changed = changedByJson(original);
    if (changed) throw new Unserializable(`${where} is ${changed}`);
  }
  switch (typeof value) {
    case 'function':
    case 'symbol':
    case 'bigint':
      throw new Unserializable(`${where} is a ${typeof value}`);
    case 'undefined':
      if (Array.isArray(this)) throw new Unserializable(`an array holds undefined`);
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new Unserializable(`${where} is ${value}`);
      return value;
    default:
      return value;
  }
}

/** A wire Value as a JS value: JSON parsed, bytes as a Buffer. */
export function decodeValue(value: WireValue | undefined): unknown {
  if (value?.kind === 'binary') return value.binary ?? Buffer.alloc(0);
  if (value?.kind === 'json' && value.json) return JSON.parse(value.json.toString('utf8'));
  return null;
}

/** The tool's result, or the typed error the reply carries. */
export function decodeReply(
  tool: string,
  reply: WireExecuteReply,
  sessionId?: string,
): { ok: true; value: unknown } | { ok: false; error: SnakepitError } {
  if (reply.outcome === 'error' && reply.error) return { ok: false, error: decodeError(tool, reply.error, sessionId) };
  return { ok: true, value: decodeValue(reply.result) };
}

/** Where the bridge's own host errors live in Python (priv/python/snakepit_bridge/_host_errors.py). */
const BRIDGE_HOST_ERRORS_MODULE = 'snakepit_bridge._host_errors';

/** Maps a Python-side failure to the typed error for it. */
export function decodeError(tool: string, info: WireErrorInfo, sessionId?: string): SnakepitError {
  const details = parseDetails(info.detailsJson);
  // The tool let the bridge's own "session is gone" through: say so, not "KeyError".
  if (info.type === 'SessionNotFoundError' && details.module === BRIDGE_HOST_ERRORS_MODULE) {
    return new SessionNotFoundError(sessionId ?? '');
  }
  switch (info.type) {
    case 'NotAStreamingToolError':
      return new ToolKindError(tool, false);
    case 'StreamingToolError':
      return new ToolKindError(tool, true);
    case 'UnknownToolError':
      return new UnknownToolError(tool, Array.isArray(details.available) ? details.available.map(String) : []);
    case 'PayloadTooLargeError':
      return new PayloadTooLargeError('result', tool, info.message);
    case 'ResultNotSerializableError':
      return new SerializationError('result', tool, info.message);
    default:
      return pythonErrorFrom({
        type: info.type,
        message: info.message,
        traceback: info.traceback,
        module: typeof details.module === 'string' ? details.module : undefined,
        bases: Array.isArray(details.bases) ? details.bases.map(String) : undefined,
      });
  }
}

function parseDetails(bytes: Buffer | undefined): Record<string, unknown> {
  if (!bytes || bytes.length === 0) return {};
  try {
    const parsed = JSON.parse(bytes.toString('utf8'));
    return parsed && typeof parsed === 'object' ? parsed : {};
  } catch {
    return {};
  }
}
