import { Controller, type Type } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { concat, Observable, of } from 'rxjs';
import type { RemoteSubjects } from '../remote-subjects';
import type { HostAnnouncement, RemoteFrame } from '../remote-wire';
import { HostCalls, type TraceContext } from './host-calls';
import { HostSessions } from './host-sessions';

/** How long a roll-call answer stays open: its end would close the caller's gathering of the
 *  other hosts' answers, so it comes well after any roll-call window. */
const ROLL_CALL_HOLD_MS = 10_000;

/**
 * The message handlers of one host, on subjects named by its prefix and host id (known only at
 * start, hence a class made here). They are plain Nest message patterns: the app connects the
 * transport (`app.connectMicroservice`). The `queue` extras are NATS queue groups: the roll call
 * gets a group per host (every host answers, whatever queue the server has by default).
 */
export function hostController(subjects: RemoteSubjects, hostId: string): Type {
  const own = subjects.host(hostId);
  const extras = { queue: `snakepit-${hostId}` };

  @Controller()
  class SnakepitHostController {
    constructor(
      readonly calls: HostCalls,
      readonly sessions: HostSessions,
    ) {}

    @MessagePattern(subjects.rollCall, extras)
    rollCall(): Observable<HostAnnouncement> {
      return concat(of(this.calls.announcement()), heldOpen(ROLL_CALL_HOLD_MS));
    }

    @MessagePattern(own.call, extras)
    call(@Payload() request: unknown, @Ctx() context: unknown): Observable<RemoteFrame> {
      return this.calls.call(request, traceOf(context));
    }

    @MessagePattern(own.session, extras)
    session(@Payload() request: unknown): Promise<RemoteFrame> {
      return this.sessions.handle(request);
    }

    @EventPattern(own.credit, extras)
    credit(@Payload() message: unknown): void {
      this.calls.credit(message);
    }

    @EventPattern(own.cancel, extras)
    cancel(@Payload() message: unknown): void {
      this.calls.cancel(message);
    }

    @MessagePattern(own.stats, extras)
    stats(): Promise<RemoteFrame> {
      return this.calls.statsFrame();
    }
  }
  return SnakepitHostController;
}

/** An answer that stays open for `ms`, then ends. Its timer does not keep the process alive:
 *  once the app has closed, the answers still held would otherwise keep it running for that long
 *  (the transport does not end them when it closes). */
function heldOpen(ms: number): Observable<never> {
  return new Observable<never>((subscriber) => {
    const timer = setTimeout(() => subscriber.complete(), ms);
    timer.unref();
    return () => clearTimeout(timer);
  });
}

/** The trace context in a transport's message headers (NATS has them), when there are any. */
function traceOf(context: unknown): TraceContext {
  const headers = (context as { getHeaders?: () => unknown } | undefined)?.getHeaders?.() as { get?: (key: string) => string } | undefined;
  if (typeof headers?.get !== 'function') return {};
  return { traceparent: headers.get('traceparent') || undefined, tracestate: headers.get('tracestate') || undefined };
}
