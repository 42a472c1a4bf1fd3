import {
  PayloadTooLargeError,
  SerializationError,
  SessionNotFoundError,
  SnakepitError,
  ToolKindError,
  UnknownToolError,
  pythonErrorFrom,
} from '../errors';
import { changedByJson, strictJson } from './strict-json';
import type { WireErrorInfo, WireExecuteReply, WireValue } from './wire';

/**
 * Turns call arguments into the JSON bytes the worker expects. Values JSON would silently
 * change or drop (functions, symbols, undefined in arrays, NaN, BigInt, Map, Set, cycles), and
 * arguments nested deeper than MAX_JSON_DEPTH, are refused with a SerializationError before
 * anything is sent.
 */
export function encodeArgs(tool: string, args: unknown): Buffer {
  if (args === undefined || args === null) return EMPTY_OBJECT;
  if (typeof args !== 'object' || Array.isArray(args) || changedByJson(args)) {
    throw new SerializationError('arguments', tool, 'arguments must be an object of keyword arguments');
  }
  try {
    return Buffer.from(strictJson(args), 'utf8');
  } catch (error) {
    throw new SerializationError('arguments', tool, (error as Error).message);
  }
}

const EMPTY_OBJECT = Buffer.from('{}');

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
