import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { rawResponse, type HttpResponseLike } from './http-response';

/**
 * An AbortSignal that fires when the client goes away before its answer was sent (it closed the
 * connection, or its HTTP/2 stream). Pass it to `execute`/`executeInSession`/`executeStream`: a
 * call still waiting for a worker leaves the queue, and a running one is cancelled in Python, so
 * clients that gave up never keep workers busy.
 */
export function abortSignalFor(response: HttpResponseLike): AbortSignal {
  const raw = rawResponse(response);
  const controller = new AbortController();
  const gone = () => {
    if (!raw.writableFinished) controller.abort(new Error('the HTTP client went away before its answer was sent'));
  };
  if (raw.destroyed) gone();
  else raw.once('close', gone);
  return controller.signal;
}

/**
 * The route's client as an AbortSignal (see abortSignalFor):
 * `run(@Body() args, @RequestAbortSignal() signal: AbortSignal) { return this.pool.execute('predict', args, { signal }); }`
 */
export const RequestAbortSignal = createParamDecorator((_data: unknown, context: ExecutionContext): AbortSignal =>
  abortSignalFor(context.switchToHttp().getResponse<HttpResponseLike>()),
);
