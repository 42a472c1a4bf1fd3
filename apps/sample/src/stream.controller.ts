import { BadRequestException, Controller, Param, Query, Sse, type MessageEvent } from '@nestjs/common';
import { PoolService, SnakepitError } from '@snakepit/nestjs';
import { catchError, map, of, type Observable } from 'rxjs';

@Controller('stream')
export class StreamController {
  constructor(private readonly pool: PoolService) {}

  /**
   * Server-Sent Events of a streaming tool: one `chunk` event per chunk, then `end`, or an
   * `error` event with `{ code, message }`. A client that disconnects cancels the Python generator.
   */
  @Sse(':tool')
  stream(@Param('tool') tool: string, @Query('args') rawArgs?: string): Observable<MessageEvent> {
    const args = parseArgs(rawArgs);
    return this.pool.stream$(tool, args).pipe(
      map((chunk): MessageEvent => ({ type: chunk.final ? 'end' : 'chunk', id: String(chunk.index), data: chunk })),
      catchError((error: Error) =>
        of<MessageEvent>({
          type: 'error',
          data: error instanceof SnakepitError ? { code: error.code, message: error.message } : { code: 'internal', message: error.message },
        }),
      ),
    );
  }
}

function parseArgs(raw: string | undefined): Record<string, unknown> {
  if (!raw) return {};
  try {
    const parsed = JSON.parse(raw);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed;
  } catch {
    /* fall through */
  }
  throw new BadRequestException('args must be a URL-encoded JSON object, e.g. ?args=%7B%22steps%22%3A3%7D');
}
