import {
  HostToolNotFoundError,
  HostToolValidationError,
  SessionNotFoundError,
  SessionQuotaError,
  SessionStoreFullError,
  SnakepitError,
} from '../errors';
import type { WireErrorInfo, WireValue } from './wire';

/** A host tool's result as a wire Value: a Buffer travels as bytes, anything else as JSON. */
export function encodeValue(value: unknown): WireValue {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return { binary: Buffer.from(value) };
  const json = JSON.stringify(value === undefined ? null : value);
  return { json: Buffer.from(json, 'utf8') };
}

/** Python turns these types into exceptions of its own (HostToolValidationError is a ValueError). */
const PYTHON_TYPE_BY_CLASS: Array<[new (...args: any[]) => SnakepitError, string]> = [
  [HostToolValidationError, 'HostToolValidationError'],
  [HostToolNotFoundError, 'HostToolNotFoundError'],
  [SessionNotFoundError, 'SessionNotFoundError'],
  [SessionQuotaError, 'SessionQuotaError'],
  [SessionStoreFullError, 'SessionStoreFullError'],
];

/** An error thrown on the host, as Python receives it: type, message and a stable code. */
export function hostErrorInfo(error: unknown): WireErrorInfo {
  const snakepit = error instanceof SnakepitError ? error : undefined;
  const type = PYTHON_TYPE_BY_CLASS.find(([ErrorClass]) => error instanceof ErrorClass)?.[1] ?? 'HostToolError';
  const details: Record<string, unknown> = { code: snakepit?.code ?? 'host_error' };
  if (error instanceof HostToolValidationError) details.problems = error.problems;
  if (error instanceof HostToolNotFoundError) details.available = error.available;
  return {
    type,
    message: error instanceof Error ? error.message : String(error),
    traceback: '',
    detailsJson: Buffer.from(JSON.stringify(details)),
  };
}
