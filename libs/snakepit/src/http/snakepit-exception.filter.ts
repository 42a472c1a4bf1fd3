import { Catch, Inject, Injectable, Optional, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { messageWithoutOutput, PythonError, SnakepitError } from '../errors';
import { httpStatusOf, RETRYABLE_CODES } from './http-status';
import { rawResponse, responseClosed, type HttpResponseLike } from './http-response';

export interface SnakepitExceptionFilterOptions {
  /** Put Python's traceback (`error.traceback`) and the worker's last lines of output (in
   *  `error.message` of crash and start errors) in the body. Default false: they tell a client
   *  about your code and your servers; turn it on for development. */
  exposeDetails?: boolean;
  /** `Retry-After` (seconds) on errors a client may retry: pool_saturated, queue_timeout,
   *  session_limit_reached, pool_failed, worker_start_failed. Default 1; 0 leaves it out. */
  retryAfterSeconds?: number;
}

/** Injection token of the filter's options, for `{ provide: APP_FILTER, useClass: SnakepitExceptionFilter }`. */
export const SNAKEPIT_EXCEPTION_FILTER_OPTIONS = Symbol('snakepit:exception-filter-options');

/** The JSON body of an error answer. */
export interface SnakepitErrorBody {
  error: { code: string; message: string; pythonType?: string; traceback?: string; available?: string[] };
}

/**
 * Answers every SnakepitError as `{ error: { code, message, pythonType?, available? } }` with the status of
 * its code (see HTTP_STATUS_BY_CODE): 404 for an unknown tool, 422 for a Python ValueError, 503
 * and Retry-After when the pool is saturated, 504 on a timeout, and so on. A client that has
 * gone gets nothing. `app.useGlobalFilters(new SnakepitExceptionFilter())`, or provide it as
 * APP_FILTER.
 */
@Catch(SnakepitError)
@Injectable()
export class SnakepitExceptionFilter implements ExceptionFilter<SnakepitError> {
  private readonly options: Required<SnakepitExceptionFilterOptions>;

  constructor(@Optional() @Inject(SNAKEPIT_EXCEPTION_FILTER_OPTIONS) options: SnakepitExceptionFilterOptions = {}) {
    this.options = { exposeDetails: options.exposeDetails ?? false, retryAfterSeconds: options.retryAfterSeconds ?? 1 };
  }

  catch(error: SnakepitError, host: ArgumentsHost): void {
    const response = rawResponse(host.switchToHttp().getResponse<HttpResponseLike>());
    if (responseClosed(response)) return;
    const status = httpStatusOf(error);
    const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
    if (this.options.retryAfterSeconds > 0 && RETRYABLE_CODES.has(error.code)) headers['retry-after'] = String(this.options.retryAfterSeconds);
    response.writeHead(status, headers);
    response.end(JSON.stringify(this.body(error)));
  }

  body(error: SnakepitError): SnakepitErrorBody {
    const body: SnakepitErrorBody['error'] = { code: error.code, message: this.options.exposeDetails ? error.message : messageWithoutOutput(error) };
    if (error instanceof PythonError) {
      body.pythonType = error.pythonType;
      if (this.options.exposeDetails) body.traceback = error.traceback;
    }
    const available = (error as SnakepitError & { available?: unknown }).available;
    if (error.code === 'unknown_tool' && Array.isArray(available)) body.available = available as string[];
    return { error: body };
  }
}
