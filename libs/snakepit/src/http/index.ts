export { HTTP_STATUS_BY_CODE, RETRYABLE_CODES, httpStatusOf } from './http-status';
export { SnakepitExceptionFilter, SNAKEPIT_EXCEPTION_FILTER_OPTIONS, type SnakepitExceptionFilterOptions } from './snakepit-exception.filter';
export { errorBody, type ErrorBodyOptions, type SnakepitErrorBody } from './error-body';
export { abortSignalFor, RequestAbortSignal } from './request-abort-signal.decorator';
export { sendServerSentEvents, sseEvent, type ServerSentEventsOptions } from './server-sent-events';
export type { HttpResponseLike } from './http-response';
