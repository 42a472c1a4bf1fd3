import { ArgumentsHost, Catch, HttpStatus, type ExceptionFilter } from '@nestjs/common';
import { PythonError, SnakepitError } from '@snakepit/nestjs';
import type { Response } from 'express';

const STATUS_BY_CODE: Record<string, number> = {
  unknown_tool: HttpStatus.NOT_FOUND,
  session_not_found: HttpStatus.NOT_FOUND,
  session_exists: HttpStatus.CONFLICT,
  session_limit_reached: HttpStatus.SERVICE_UNAVAILABLE,
  worker_busy: HttpStatus.CONFLICT,
  session_worker_unavailable: HttpStatus.CONFLICT,
  pool_not_found: HttpStatus.NOT_FOUND,
  python_value_error: HttpStatus.UNPROCESSABLE_ENTITY,
  python_type_error: HttpStatus.UNPROCESSABLE_ENTITY,
  python_key_error: HttpStatus.UNPROCESSABLE_ENTITY,
  request_timeout: HttpStatus.GATEWAY_TIMEOUT,
  queue_timeout: HttpStatus.GATEWAY_TIMEOUT,
  pool_saturated: HttpStatus.SERVICE_UNAVAILABLE,
  pool_closed: HttpStatus.SERVICE_UNAVAILABLE,
  pool_failed: HttpStatus.SERVICE_UNAVAILABLE,
  worker_not_found: HttpStatus.NOT_FOUND,
  worker_unresponsive: HttpStatus.BAD_GATEWAY,
  pooling_disabled: HttpStatus.SERVICE_UNAVAILABLE,
  worker_start_failed: HttpStatus.SERVICE_UNAVAILABLE,
  worker_crashed: HttpStatus.BAD_GATEWAY,
  worker_protocol_error: HttpStatus.BAD_GATEWAY,
  invalid_call: HttpStatus.BAD_REQUEST,
  tool_kind_mismatch: HttpStatus.BAD_REQUEST,
  payload_too_large: HttpStatus.PAYLOAD_TOO_LARGE,
};

/** The HTTP status for a library error: the table above, 400 for arguments that cannot be sent,
 *  500 for every other Python exception and anything else. */
export function httpStatusOf(error: SnakepitError): number {
  if (error.code === 'serialization_failed') {
    return (error as SnakepitError & { direction?: string }).direction === 'arguments'
      ? HttpStatus.BAD_REQUEST
      : HttpStatus.INTERNAL_SERVER_ERROR;
  }
  return STATUS_BY_CODE[error.code] ?? HttpStatus.INTERNAL_SERVER_ERROR;
}

/** Renders library errors as `{ error: { code, message, pythonType?, traceback? } }`. */
@Catch(SnakepitError)
export class SnakepitErrorFilter implements ExceptionFilter {
  catch(error: SnakepitError, host: ArgumentsHost): void {
    const body: Record<string, unknown> = { code: error.code, message: error.message };
    if (error instanceof PythonError) {
      body.pythonType = error.pythonType;
      body.traceback = error.traceback;
    }
    host.switchToHttp().getResponse<Response>().status(httpStatusOf(error)).json({ error: body });
  }
}
