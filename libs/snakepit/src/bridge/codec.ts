import {
  PayloadTooLargeError,
  SerializationError,
  SessionNotFoundError,
  SharedMemoryError,
  SnakepitError,
  ToolKindError,
  UnknownToolError,
  pythonErrorFrom,
} from '../errors';
import type { WireErrorInfo, WireExecuteReply, WireValue } from './wire';

/** The tool's result, decoded by `decode` (the pool's data plane), or the typed error the reply carries. */
export function decodeReply(
  tool: string,
  reply: WireExecuteReply,
  decode: (value: WireValue | undefined) => unknown,
  sessionId?: string,
): { ok: true; value: unknown } | { ok: false; error: SnakepitError } {
  if (reply.outcome === 'error' && reply.error) return { ok: false, error: decodeError(tool, reply.error, sessionId) };
  return { ok: true, value: decode(reply.result) };
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
      return new SerializationError('result', tool, info.message, typeof details.path === 'string' ? details.path : undefined);
    case 'SegmentError':
    case 'SharedMemoryError':
      return new SharedMemoryError(`the worker running "${tool}": ${info.message}`);
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
