import { Catch, Inject, Injectable, Optional, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { throwError, type Observable } from 'rxjs';
import { SnakepitError } from '../errors';
import { type SnakepitErrorBody } from './error-body';
import { errorResponseBody, sendErrorResponse } from './error-response';
import { rawResponse, type HttpResponseLike } from './http-response';

export interface SnakepitExceptionFilterOptions {
  /** Tell clients everything: the messages of server faults (5xx), Python's traceback, the
   *  worker's last lines of output, the tools there are. Default false; for development. */
  exposeDetails?: boolean;
  /** `Retry-After` (seconds) on errors a client may retry: every 503, and queue_timeout. A
   *  failed pool says when its cool-down ends instead. Default 1; 0 leaves it out. */
  retryAfterSeconds?: number;
}

/** Injection token of the filter's options, for `{ provide: APP_FILTER, useClass: SnakepitExceptionFilter }`. */
export const SNAKEPIT_EXCEPTION_FILTER_OPTIONS = Symbol('snakepit:exception-filter-options');

/**
 * Answers every SnakepitError of an HTTP request as `{ error: { code, message, pythonType? } }`
 * with the status of its code (see HTTP_STATUS_BY_CODE): 404 for an unknown tool, 422 for a
 * Python ValueError, 503 and Retry-After when the pool is saturated, 504 on a timeout, and so on.
 * A client that has gone gets nothing. Outside HTTP (a microservice handler) the error goes on
 * as it is. `app.useGlobalFilters(new SnakepitExceptionFilter())`, or provide it as APP_FILTER.
 */
@Catch(SnakepitError)
@Injectable()
export class SnakepitExceptionFilter implements ExceptionFilter<SnakepitError> {
  private readonly options: Required<SnakepitExceptionFilterOptions>;

  constructor(@Optional() @Inject(SNAKEPIT_EXCEPTION_FILTER_OPTIONS) options: SnakepitExceptionFilterOptions = {}) {
    this.options = { exposeDetails: options.exposeDetails ?? false, retryAfterSeconds: options.retryAfterSeconds ?? 1 };
  }

  catch(error: SnakepitError, host: ArgumentsHost): void | Observable<never> {
    if (host.getType() !== 'http') return throwError(() => error);
    const response = rawResponse(host.switchToHttp().getResponse<HttpResponseLike>());
    if (response.writableEnded || response.destroyed) return;
    if (response.headersSent) {
      response.end(); // too late for a status: at least the client is not left waiting
      return;
    }
    sendErrorResponse(response, error, this.options);
  }

  body(error: SnakepitError): SnakepitErrorBody {
    return errorResponseBody(error, this.options.exposeDetails);
  }
}
