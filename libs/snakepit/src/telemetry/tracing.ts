import type * as otel from '@opentelemetry/api';

/**
 * OpenTelemetry, when the application has @opentelemetry/api (an optional dependency): every
 * call gets a span, and its W3C context travels to Python in gRPC metadata (`traceparent`,
 * `tracestate`); host-tool calls from Python bring it back. Without the package, nothing here
 * costs more than one check.
 */
let api: typeof otel | null | undefined;

function otelApi(): typeof otel | null {
  if (api === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      api = require('@opentelemetry/api') as typeof otel;
    } catch {
      api = null;
    }
  }
  return api;
}

const TRACER = 'snakepit-nestjs';
let tracerOf: { provider: otel.TracerProvider; tracer: otel.Tracer } | undefined;

/** The library's tracer, fetched again only when the global provider changes. */
function tracer(o: typeof otel): otel.Tracer {
  const provider = o.trace.getTracerProvider();
  if (tracerOf?.provider !== provider) tracerOf = { provider, tracer: provider.getTracer(TRACER) };
  return tracerOf.tracer;
}

/** A call's span, and the headers that take its context to Python. */
export interface CallSpan {
  headers: Record<string, string>;
  end(error?: Error): void;
}

/** W3C headers for a span context (none for an invalid one). */
function headersOf(o: typeof otel, span: otel.SpanContext): Record<string, string> {
  if (!o.isSpanContextValid(span)) return {};
  const flags = (span.traceFlags & 0xff).toString(16).padStart(2, '0');
  const headers: Record<string, string> = { traceparent: `00-${span.traceId}-${span.spanId}-${flags}` };
  const state = span.traceState?.serialize();
  if (state) headers.tracestate = state;
  return headers;
}

/** Opens the span of a call to Python (`snakepit.execute <tool>` or `snakepit.stream <tool>`),
 *  a child of the caller's active context. */
export function startCallSpan(kind: 'unary' | 'stream', pool: string, tool: string): CallSpan | undefined {
  return startClientSpan(`snakepit.${kind === 'stream' ? 'stream' : 'execute'} ${tool}`, { 'snakepit.pool': pool, 'snakepit.tool': tool });
}

/** Opens a client span `name`, a child of the active context, with the headers that carry it on. */
export function startClientSpan(name: string, attributes: Record<string, string>): CallSpan | undefined {
  const o = otelApi();
  if (!o) return undefined;
  const span = tracer(o).startSpan(name, { kind: o.SpanKind.CLIENT, attributes });
  return {
    headers: headersOf(o, span.spanContext()),
    end(error) {
      if (error) {
        span.recordException(error);
        span.setStatus({ code: o.SpanStatusCode.ERROR, message: error.message });
      }
      span.end();
    },
  };
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * Runs `work` (a host tool Python called) in a span whose parent is the context Python sent
 * back, so the host tool shows up inside the call that used it.
 */
export function inHostToolSpan<T>(tool: string, traceparent: string | undefined, tracestate: string | undefined, work: () => Promise<T>): Promise<T> {
  return inServerSpan(`snakepit.host_tool ${tool}`, { 'snakepit.tool': tool }, traceparent, tracestate, work);
}

/**
 * Runs `work` in a server span `name` whose parent is the W3C context that came with the request
 * (`traceparent`, `tracestate`), or the active context without one: the spans `work` opens are
 * its children.
 */
export async function inServerSpan<T>(
  name: string,
  attributes: Record<string, string>,
  traceparent: string | undefined,
  tracestate: string | undefined,
  work: () => Promise<T>,
): Promise<T> {
  const o = otelApi();
  if (!o) return work();
  const match = traceparent ? TRACEPARENT.exec(traceparent) : null;
  const parent = match
    ? o.trace.setSpanContext(o.ROOT_CONTEXT, {
        traceId: match[1],
        spanId: match[2],
        traceFlags: parseInt(match[3], 16),
        isRemote: true,
        traceState: tracestate ? o.createTraceState(tracestate) : undefined,
      })
    : o.context.active();
  const span = tracer(o).startSpan(name, { kind: o.SpanKind.SERVER, attributes }, parent);
  try {
    return await o.context.with(o.trace.setSpan(parent, span), work);
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: o.SpanStatusCode.ERROR, message: (error as Error).message });
    throw error;
  } finally {
    span.end();
  }
}
