import type { ServerResponse } from 'node:http';
import { HttpStatus } from '@nestjs/common';
import { SnakepitError } from '../errors';
import { errorBody, type SnakepitErrorBody } from './error-body';
import { httpStatusOf, RETRYABLE_CODES } from './http-status';

export interface ErrorResponseOptions {
  exposeDetails: boolean;
  /** `Retry-After` when the error does not say how long to wait; 0 leaves the header out. */
  retryAfterSeconds: number;
}

/** 503s that waiting does not cure. */
const PERMANENT_CODES: ReadonlySet<string> = new Set(['pooling_disabled']);

/**
 * The seconds a client should wait before it tries again, for errors worth retrying: a 503, or
 * one of RETRYABLE_CODES. An error that knows (a failed pool, until its cool-down ends) says so;
 * otherwise `fallbackSeconds`. Undefined when the client should not retry, or fallbackSeconds is 0.
 */
export function retryAfterSecondsOf(error: SnakepitError, fallbackSeconds: number): number | undefined {
  if (fallbackSeconds <= 0 || PERMANENT_CODES.has(error.code)) return undefined;
  if (httpStatusOf(error) !== HttpStatus.SERVICE_UNAVAILABLE && !RETRYABLE_CODES.has(error.code)) return undefined;
  const known = (error as SnakepitError & { retryAfterMs?: unknown }).retryAfterMs;
  return typeof known === 'number' && known >= 0 ? Math.max(1, Math.ceil(known / 1000)) : fallbackSeconds;
}

/** The JSON body a client gets for any error; one that is not the library's is an opaque 500. */
export function errorResponseBody(error: unknown, exposeDetails: boolean): SnakepitErrorBody {
  if (error instanceof SnakepitError) return { error: errorBody(error, { exposeDetails }) };
  return { error: { code: 'internal_error', message: 'The call failed on the server.' } };
}

/** Answers the request with the error: its status, `Retry-After` when it applies, its JSON body. */
export function sendErrorResponse(res: ServerResponse, error: unknown, options: ErrorResponseOptions): void {
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  const status = error instanceof SnakepitError ? httpStatusOf(error) : HttpStatus.INTERNAL_SERVER_ERROR;
  const retryAfter = error instanceof SnakepitError ? retryAfterSecondsOf(error, options.retryAfterSeconds) : undefined;
  if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
  res.writeHead(status, headers);
  res.end(JSON.stringify(errorResponseBody(error, options.exposeDetails)));
}
