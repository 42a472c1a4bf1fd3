import {
  HostToolNotFoundError,
  HostToolValidationError,
  SessionNotFoundError,
  SessionQuotaError,
  SessionStoreFullError,
  SessionStoreUnavailableError,
  SnakepitError,
} from '../errors';
import type { WireErrorInfo } from './wire';

/** Python turns these types into exceptions of its own (HostToolValidationError is a ValueError). */
const PYTHON_TYPE_BY_CLASS: Array<[new (...args: any[]) => SnakepitError, string]> = [
  [HostToolValidationError, 'HostToolValidationError'],
  [HostToolNotFoundError, 'HostToolNotFoundError'],
  [SessionNotFoundError, 'SessionNotFoundError'],
  [SessionQuotaError, 'SessionQuotaError'],
  [SessionStoreFullError, 'SessionStoreFullError'],
  [SessionStoreUnavailableError, 'SessionStoreUnavailableError'],
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
