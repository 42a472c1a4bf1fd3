import { HttpStatus } from '@nestjs/common';
import type { SnakepitError } from '../errors';

/** The HTTP status of each error code; codes not listed (most Python exceptions) are 500. */
export const HTTP_STATUS_BY_CODE: Readonly<Record<string, number>> = {
  invalid_call: HttpStatus.BAD_REQUEST,
  tool_kind_mismatch: HttpStatus.BAD_REQUEST,
  tool_arguments_invalid: HttpStatus.BAD_REQUEST,
  payload_too_large: HttpStatus.PAYLOAD_TOO_LARGE,
  session_quota_exceeded: HttpStatus.PAYLOAD_TOO_LARGE,
  shared_memory_budget_exceeded: HttpStatus.INSUFFICIENT_STORAGE,
  shared_memory_limit_exceeded: HttpStatus.PAYLOAD_TOO_LARGE,
  shared_value_closed: HttpStatus.GONE,
  unknown_tool: HttpStatus.NOT_FOUND,
  pool_not_found: HttpStatus.NOT_FOUND,
  session_not_found: HttpStatus.NOT_FOUND,
  worker_not_found: HttpStatus.NOT_FOUND,
  session_exists: HttpStatus.CONFLICT,
  worker_busy: HttpStatus.CONFLICT,
  session_worker_unavailable: HttpStatus.CONFLICT,
  python_value_error: HttpStatus.UNPROCESSABLE_ENTITY,
  python_type_error: HttpStatus.UNPROCESSABLE_ENTITY,
  python_key_error: HttpStatus.UNPROCESSABLE_ENTITY,
  worker_crashed: HttpStatus.BAD_GATEWAY,
  worker_unresponsive: HttpStatus.BAD_GATEWAY,
  worker_protocol_error: HttpStatus.BAD_GATEWAY,
  pool_saturated: HttpStatus.SERVICE_UNAVAILABLE,
  pool_closed: HttpStatus.SERVICE_UNAVAILABLE,
  pool_failed: HttpStatus.SERVICE_UNAVAILABLE,
  pooling_disabled: HttpStatus.SERVICE_UNAVAILABLE,
  worker_start_failed: HttpStatus.SERVICE_UNAVAILABLE,
  session_limit_reached: HttpStatus.SERVICE_UNAVAILABLE,
  session_store_full: HttpStatus.SERVICE_UNAVAILABLE,
  session_store_unavailable: HttpStatus.SERVICE_UNAVAILABLE,
  no_host_available: HttpStatus.SERVICE_UNAVAILABLE,
  host_lost: HttpStatus.BAD_GATEWAY,
  remote_protocol_error: HttpStatus.BAD_GATEWAY,
  request_timeout: HttpStatus.GATEWAY_TIMEOUT,
  stream_consumer_idle: HttpStatus.REQUEST_TIMEOUT,
  queue_timeout: HttpStatus.GATEWAY_TIMEOUT,
};

/** Codes other than 503s after which a client may well succeed in a moment: they carry
 *  `Retry-After` too (see retryAfterSecondsOf). */
export const RETRYABLE_CODES: ReadonlySet<string> = new Set(['queue_timeout']);

/** The HTTP status for a library error: the table above; arguments that cannot be sent are 400,
 *  a result that cannot be sent 500; everything else 500. */
export function httpStatusOf(error: SnakepitError): number {
  if (error.code === 'serialization_failed') {
    return (error as SnakepitError & { direction?: string }).direction === 'arguments'
      ? HttpStatus.BAD_REQUEST
      : HttpStatus.INTERNAL_SERVER_ERROR;
  }
  return HTTP_STATUS_BY_CODE[error.code] ?? HttpStatus.INTERNAL_SERVER_ERROR;
}
