import { messageWithoutOutput, PythonError, ToolArgumentsError, type ArgumentProblem, type SnakepitError } from '../errors';
import { httpStatusOf } from './http-status';

/** The JSON body of an error answer. */
export interface SnakepitErrorBody {
  error: { code: string; message: string; pythonType?: string; traceback?: string; available?: string[]; problems?: ArgumentProblem[] };
}

export interface ErrorBodyOptions {
  /** Everything: messages of server faults, Python's traceback, the worker's last output, the
   *  tools there are. For development; a client should not learn that much about the server. */
  exposeDetails: boolean;
}

/** Server-side codes whose messages say only how busy or slow the pool is: fine for a client. */
const LOAD_CODES: ReadonlySet<string> = new Set(['pool_saturated', 'queue_timeout', 'request_timeout', 'pool_closed', 'pooling_disabled', 'session_limit_reached', 'session_store_full', 'no_host_available']);

const GENERIC_MESSAGES: Readonly<Record<number, string>> = {
  500: 'The call failed on the server.',
  502: 'The Python worker failed during the call.',
  503: 'The service cannot take calls now; try again later.',
};

/**
 * What a client is told of an error: its code always; its message when the fault is the
 * client's (4xx) or the pool's load, else a generic one; the worker's output, Python's traceback
 * and the list of tools only with `exposeDetails`.
 */
export function errorBody(error: SnakepitError, { exposeDetails }: ErrorBodyOptions): SnakepitErrorBody['error'] {
  const status = httpStatusOf(error);
  const shown = exposeDetails || status < 500 || LOAD_CODES.has(error.code);
  const body: SnakepitErrorBody['error'] = {
    code: error.code,
    message: exposeDetails ? error.message : shown ? messageWithoutOutput(error) : (GENERIC_MESSAGES[status] ?? 'The call failed.'),
  };
  if (error instanceof PythonError && shown) body.pythonType = error.pythonType;
  if (error instanceof ToolArgumentsError) body.problems = error.problems; // the client's own arguments
  if (exposeDetails) {
    if (error instanceof PythonError) body.traceback = error.traceback;
    const available = (error as SnakepitError & { available?: unknown }).available;
    if (error.code === 'unknown_tool' && Array.isArray(available)) body.available = available as string[];
  }
  return body;
}
