import { Injectable } from '@nestjs/common';
import { context, trace, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { SnakepitTool } from '@snakepit/nestjs';
import { bootApp, type TestApp } from './support/app';
import { eventually } from './support/processes';

/** A host tool that reports the trace it runs in. */
@Injectable()
class TracedTools {
  @SnakepitTool({ name: 'whereami', description: 'The active trace and span, seen by a host tool' })
  whereami() {
    const span = trace.getActiveSpan()?.spanContext();
    return { traceId: span?.traceId, spanId: span?.spanId };
  }
}

describe('tracing with OpenTelemetry', () => {
  const exporter = new InMemorySpanExporter();
  let app: TestApp | undefined;
  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  });
  afterAll(() => {
    trace.disable();
    context.disable();
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    exporter.reset();
  });

  it('opens a span per call, continues it in Python, and back in the host tools Python calls', async () => {
    app = await bootApp({ poolSize: 1 }, { providers: [TracedTools] });
    await app.pool.ready();
    const tracer = trace.getTracer('test');
    let root!: Span;
    const seen = await tracer.startActiveSpan('request', async (span) => {
      root = span;
      try {
        return await app!.pool.execute<any>('trace_info', { host_tool: 'whereami' });
      } finally {
        span.end();
      }
    });
    const traceId = root.spanContext().traceId;
    await eventually(() => exporter.getFinishedSpans().length >= 3, 5000, 'the spans');
    const spans = exporter.getFinishedSpans();
    const call = spans.find((s) => s.name === 'snakepit.execute trace_info')!;
    const hostTool = spans.find((s) => s.name === 'snakepit.host_tool whereami')!;
    // The call's span is a child of the caller's, in the same trace.
    expect(call.spanContext().traceId).toBe(traceId);
    expect(call.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    expect(call.attributes).toMatchObject({ 'snakepit.pool': 'default', 'snakepit.tool': 'trace_info' });
    // Python saw that span as its parent...
    expect(seen.trace_id).toBe(traceId);
    expect(seen.traceparent).toBe(`00-${traceId}-${call.spanContext().spanId}-01`);
    // ...and the host tool it called ran in a span of the same trace, under the call.
    expect(hostTool.spanContext().traceId).toBe(traceId);
    expect(hostTool.parentSpanContext?.spanId).toBe(call.spanContext().spanId);
    expect(seen.host_result).toEqual({ traceId, spanId: hostTool.spanContext().spanId });
  });

  it('marks the span of a failed call as an error, and gives a call outside any trace a root span', async () => {
    app = await bootApp({ poolSize: 1 });
    await app.pool.execute('raise_error', { type: 'KeyError' }).catch(() => undefined);
    const [failed] = exporter.getFinishedSpans().filter((s) => s.name === 'snakepit.execute raise_error');
    expect(failed.status).toMatchObject({ code: 2 }); // SpanStatusCode.ERROR
    expect(failed.events.map((e) => e.name)).toContain('exception');
    // A call outside any trace is a root span of its own; Python still gets its context.
    const seen = await app.pool.execute<any>('trace_info');
    expect(seen.trace_id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('gives a stream its span, and Python the stream\'s context', async () => {
    app = await bootApp({ poolSize: 1 });
    const chunks: any[] = [];
    for await (const chunk of app.pool.executeStream('trace_info_stream')) chunks.push(chunk.data);
    await eventually(() => exporter.getFinishedSpans().some((s) => s.name === 'snakepit.stream trace_info_stream'), 5000, 'the span');
    const span = exporter.getFinishedSpans().find((s) => s.name === 'snakepit.stream trace_info_stream')!;
    expect(chunks).toEqual([{ traceparent: `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01` }]);
  });
});
