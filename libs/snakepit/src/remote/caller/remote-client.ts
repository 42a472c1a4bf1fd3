import { ClientNats, NatsRecordBuilder, type ClientProxy } from '@nestjs/microservices';
import type { Observable, Subscription } from 'rxjs';

/** W3C trace headers of a call. */
export type TraceHeaders = Record<string, string>;

/**
 * The broker as the caller uses it: requests that answer with several messages, events, and
 * the connection. A thin wrapper of a Nest ClientProxy; with NATS, trace context goes in the
 * message headers, elsewhere in the body (`traceparent`, `tracestate`).
 */
export class RemoteClient {
  private natsHeaders?: () => { set(key: string, value: string): void };
  private statusWatch?: Subscription;
  /** When the connection to the broker was last made, the first time or again after an outage
   *  (Date.now()); undefined until then, and with a transport that does not say. */
  connectedAt?: number;
  /** Whether the connection is up now, as the proxy last said. */
  connected = false;

  constructor(readonly proxy: ClientProxy) {
    if (proxy instanceof ClientNats) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      this.natsHeaders = (require('@nats-io/transport-node') as { headers: () => { set(key: string, value: string): void } }).headers;
    }
    try {
      this.statusWatch = proxy.status.subscribe({
        next: (status) => {
          this.connected = status === 'connected';
          if (this.connected) this.connectedAt = Date.now();
        },
        error: () => undefined,
      });
    } catch {
      // a proxy without a status stream
    }
  }

  /** Resolves once connected; rejects while the broker cannot be reached (nothing was sent). */
  async connect(): Promise<void> {
    await this.proxy.connect();
  }

  request<T>(subject: string, body: Record<string, unknown>, trace?: TraceHeaders): Observable<T> {
    return this.proxy.send<T>(subject, this.record(body, trace));
  }

  event(subject: string, body: Record<string, unknown>): void {
    this.proxy.emit(subject, body).subscribe({ error: () => undefined }); // best effort: the host has its own limits
  }

  close(): Promise<unknown> | unknown {
    this.statusWatch?.unsubscribe();
    return this.proxy.close();
  }

  private record(body: Record<string, unknown>, trace?: TraceHeaders): unknown {
    if (!trace || Object.keys(trace).length === 0) return body;
    if (!this.natsHeaders) return { ...body, ...trace };
    const headers = this.natsHeaders();
    for (const [key, value] of Object.entries(trace)) headers.set(key, value);
    return new NatsRecordBuilder(body).setHeaders(headers).build();
  }
}

/** Whether `error` says that no host listens on the subject (NATS "no responders"): nothing ran. */
export function isNoResponders(error: unknown): boolean {
  return (error as Error | undefined)?.constructor?.name === 'EmptyResponseException';
}
