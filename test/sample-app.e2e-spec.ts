import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { serveApiDocs } from '../apps/sample/src/api-docs';
import { AppModule } from '../apps/sample/src/app.module';
import { sampleConfigFromEnv } from '../apps/sample/src/sample.config';
import { PoolService, type SnakepitModuleOptions } from '@snakepit/nestjs';
import { silentLogger } from './support/app';
import { eventually } from './support/processes';

describe('sample app over HTTP', () => {
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    const config = sampleConfigFromEnv({ SNAKEPIT_POOL_SIZE: '2', SNAKEPIT_PYTHON: process.env.SNAKEPIT_PYTHON });
    const module = await Test.createTestingModule({
      imports: [AppModule.register({ ...config.snakepit, requestTimeoutMs: 2000, cancelGraceMs: 100 })],
    })
      .setLogger(silentLogger)
      .compile();
    app = module.createNestApplication({ logger: false });
    serveApiDocs(app); // as main.ts does
    await app.listen(0, '127.0.0.1');
    url = await app.getUrl();
  });
  afterAll(() => app.close());

  const post = async (path: string, body: unknown = {}) => {
    const response = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as any };
  };

  it('POST /execute/:tool returns the result', async () => {
    await expect(post('/execute/add', { a: 2, b: 3 })).resolves.toEqual({ status: 200, body: { result: 5 } });
  });

  it('answers arrays as { dtype, shape, data }, and scores embeddings (the README example)', async () => {
    const rich = (await post('/execute/rich_values', {})) as { status: number; body: { result: Record<string, any> } };
    expect(rich.status).toBe(200);
    expect(rich.body.result.arrays.int64).toEqual({ dtype: 'int64', shape: [2, 2], data: ['0', '1', '2', '3'] });
    expect([rich.body.result.big_int, rich.body.result.bytes[0]]).toEqual([String(2n ** 70n), 'AAE=']);
    const scored = await post('/similarity', { query: [1, 0], embeddings: [[1, 0], [0, 1], [1, 1]] });
    expect(scored.status).toBe(200);
    expect((scored.body as { scores: number[] }).scores.map((x) => Math.round(x * 1000) / 1000)).toEqual([1, 0, 0.707]);
    expect(await post('/similarity', { query: [1, 0], embeddings: [[1]] })).toMatchObject({ status: 400 });
  });

  it('returns bytes as base64', async () => {
    await expect(post('/execute/bytes_of', { n: 3, fill: 255 })).resolves.toEqual({
      status: 200,
      body: { result: '////', encoding: 'base64' },
    });
  });

  it.each([
    ['an unknown tool', '/execute/nope', {}, 404, 'unknown_tool'],
    ['a Python ValueError', '/execute/raise_error', { type: 'ValueError' }, 422, 'python_value_error'],
    ['a Python TypeError', '/execute/raise_error', { type: 'TypeError' }, 422, 'python_type_error'],
    ['a Python KeyError', '/execute/raise_error', { type: 'KeyError' }, 422, 'python_key_error'],
    ['another Python error', '/execute/raise_error', { type: 'RuntimeError' }, 500, 'python_runtime_error'],
    ['a timeout', '/execute/sleep', { ms: 10_000 }, 504, 'request_timeout'],
    ['a worker crash', '/execute/crash', { mode: 'exit', code: 9 }, 502, 'worker_crashed'],
  ])('maps %s to HTTP %s', async (_what, path, body, status, code) => {
    const response = await post(path, body);
    expect(response.status).toBe(status);
    expect(response.body.error.code).toBe(code);
    expect(response.body.error.message).toEqual(expect.any(String));
    if (code.startsWith('python_')) {
      expect(response.body.error.pythonType).toEqual(expect.any(String));
      expect(response.body.error.traceback).toContain('Traceback');
    }
  });

  it('takes typed arguments in their HTTP forms: base64 for bytes, ISO text for a datetime', async () => {
    await expect(post('/execute/sizes', { data: Buffer.from('hello').toString('base64'), when: '2024-05-06T07:08:09Z' })).resolves.toEqual({
      status: 200,
      body: { result: { bytes: 5, year: 2024, aware: true } },
    });
    // Not base64 text where bytes are due: the host's check refuses it before Python runs.
    const refused = await post('/execute/sizes', { data: 5, when: '2024-05-06T07:08:09Z' });
    expect(refused).toMatchObject({ status: 400, body: { error: { code: 'tool_arguments_invalid' } } });
  });

  it('serves an OpenAPI 3.1 document of the Python tools at /docs-json, and Swagger UI at /docs', async () => {
    const response = await fetch(`${url}/docs-json`);
    expect(response.status).toBe(200);
    const doc = (await response.json()) as any;
    expect(doc.openapi).toBe('3.1.0');
    const bytesOf = doc.paths['/execute/bytes_of'].post;
    expect(bytesOf.requestBody.content['application/json'].schema).toMatchObject({ type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] });
    expect(bytesOf.responses['200'].content['application/json'].schema).toMatchObject({
      properties: { result: { type: 'string', format: 'byte' }, encoding: { const: 'base64' } },
      required: ['result', 'encoding'],
    });
    expect(bytesOf.responses['422']).toEqual({ $ref: '#/components/responses/UnprocessableEntity' });
    expect(doc.components.responses.UnprocessableEntity.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
    expect(doc.paths['/execute/pid'].post.responses['200'].content['application/json'].schema.properties.result).toEqual({ type: 'integer' });
    // A streaming tool: its arguments in ?args=, its chunks as Server-Sent Events.
    const count = doc.paths['/stream/count'].get;
    expect(count.parameters[0]).toMatchObject({ name: 'args', in: 'query', required: true });
    expect(count.parameters[0].content['application/json'].schema).toMatchObject({ properties: { n: { type: 'integer' } }, required: ['n'] });
    expect(count.responses['200'].content['text/event-stream'].schema.oneOf[0].properties.data).toEqual({ type: 'object', additionalProperties: { type: 'integer' } });
    expect(doc.paths['/execute/count']).toBeUndefined();
    expect(JSON.stringify(doc)).not.toContain('$schema');
    const ui = await fetch(`${url}/docs`);
    expect(ui.status).toBe(200);
    expect(ui.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await ui.text()).toContain('swagger-ui');
  });

  /** A second sample app beside the suite's, with options of its own. */
  async function anotherApp(options: Partial<SnakepitModuleOptions>): Promise<INestApplication> {
    const module = await Test.createTestingModule({
      imports: [AppModule.register({ ...sampleConfigFromEnv({ SNAKEPIT_PYTHON: process.env.SNAKEPIT_PYTHON }).snakepit, ...options })],
    })
      .setLogger(silentLogger)
      .compile();
    const other = module.createNestApplication({ logger: false });
    await other.listen(0, '127.0.0.1');
    return other;
  }

  it('maps a saturated queue to 503', async () => {
    const small = await anotherApp({ poolSize: 1, queue: { maxSize: 0 } });
    try {
      const base = await small.getUrl();
      const call = (body: unknown) =>
        fetch(`${base}/execute/sleep`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      await small.get(PoolService).ready();
      const busy = call({ ms: 500 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const refused = await call({ ms: 1 });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(((await refused.json()) as any).error.code).toBe('pool_saturated');
      expect((await busy).status).toBe(200);
    } finally {
      await small.close();
    }
  });

  it('cancels the calls of HTTP clients that left: queued ones never run, running ones free their worker', async () => {
    const patient = await anotherApp({ poolSize: 2, cancelGraceMs: 100 });
    try {
      const base = await patient.getUrl();
      const pool = patient.get(PoolService);
      await pool.ready();
      const clients = Array.from({ length: 50 }, () => new AbortController());
      const requests = clients.map((client) =>
        fetch(`${base}/execute/sleep`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ms: 5000 }), signal: client.signal }).catch(
          (error: Error) => error.name,
        ),
      );
      await eventually(() => pool.stats().busy === 2 && pool.stats().queued === 48, 10_000, 'every request to arrive');
      for (const client of clients) client.abort();
      expect(new Set(await Promise.all(requests))).toEqual(new Set(['AbortError']));
      await eventually(() => pool.stats().aborted === 50 && pool.stats().busy === 0 && pool.stats().queued === 0, 10_000, 'the calls to be cancelled');
      // The 48 that waited never reached Python; the 2 that ran were cut short.
      expect(pool.stats().tools.sleep.calls).toBe(2);
      const next = await fetch(`${base}/execute/add`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ a: 1, b: 2 }) });
      expect(await next.json()).toEqual({ result: 3 });
    } finally {
      await patient.close();
    }
  });

  it('creates, reads, uses and deletes sessions', async () => {
    const created = await post('/sessions', { metadata: { user: 'ada' } });
    expect(created.status).toBe(201);
    const id = created.body.id;
    expect(created.body.metadata).toEqual({ user: 'ada' });
    await expect(post(`/sessions/${id}/execute/counter`)).resolves.toMatchObject({ status: 200, body: { result: { counter: 1 } } });
    await expect(post(`/sessions/${id}/execute/counter`, { step: 5 })).resolves.toMatchObject({ body: { result: { counter: 6 } } });
    const read = await fetch(`${url}/sessions/${id}`);
    expect(read.status).toBe(200);
    expect(((await read.json()) as any).workers.default).toEqual(expect.any(String));
    expect((await fetch(`${url}/sessions/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(`${url}/sessions/${id}`)).status).toBe(404);
    const gone = await post(`/sessions/${id}/execute/counter`);
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('session_not_found');
  });

  it('runs a Python tool that calls the sample app’s host tool', async () => {
    await expect(post('/execute/add_via_host', { a: 2, b: 5 })).resolves.toEqual({ status: 200, body: { result: { sum: 7, via: 'host' } } });
  });

  it('GET /tools lists host tools and Python tools', async () => {
    const tools = (await fetch(`${url}/tools`).then((r) => r.json())) as any;
    expect(tools.host).toEqual([
      {
        name: 'add',
        description: 'Add two numbers on the host',
        parameters: {
          $schema: 'https://json-schema.org/draft/2020-12/schema',
          type: 'object',
          properties: { a: { type: 'number' }, b: { type: 'number' } },
          required: ['a', 'b'],
          additionalProperties: false,
        },
      },
    ]);
    expect(tools.python.default.map((t: any) => t.name)).toEqual(expect.arrayContaining(['add', 'add_via_host', 'counter']));
  });

  it('GET /stream/:tool sends bytes in chunks as base64, as results', async () => {
    const response = await fetch(`${url}/stream/blob_stream?args=${encodeURIComponent(JSON.stringify({ count: 2, size: 3 }))}`);
    const text = await response.text();
    const chunks = [...text.matchAll(/^data: (.*)$/gm)].map((match) => JSON.parse(match[1]));
    expect(chunks.filter((chunk) => chunk && typeof chunk.data === 'string').length).toBeGreaterThanOrEqual(2);
    expect(Buffer.from(chunks[0].data, 'base64').length).toBe(3);
  });

  it('GET /stream/:tool sends Server-Sent Events, one per chunk', async () => {
    const args = encodeURIComponent(JSON.stringify({ steps: 3, delay_ms: 1 }));
    const response = await fetch(`${url}/stream/progress?args=${args}`);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const text = await response.text();
    const events = text.split('\n\n').filter(Boolean).map((block) => Object.fromEntries(block.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)])));
    expect(events.map((e) => e.event)).toEqual(['chunk', 'chunk', 'end']);
    expect(JSON.parse(events[0].data)).toMatchObject({ index: 0, final: false, data: { step: 1, of: 3 } });
  });

  it('answers a stream that cannot start with its HTTP status, one that fails later with an SSE error event', async () => {
    const unknown = await fetch(`${url}/stream/nope`);
    expect([unknown.status, unknown.headers.get('content-type')]).toEqual([404, expect.stringContaining('application/json')]);
    expect(((await unknown.json()) as any).error.code).toBe('unknown_tool');
    const unary = await fetch(`${url}/stream/add`);
    expect([unary.status, ((await unary.json()) as any).error.code]).toEqual([400, 'tool_kind_mismatch']);
    expect((await fetch(`${url}/stream/progress?args=notjson`)).status).toBe(400);
    const args = encodeURIComponent(JSON.stringify({ n: 2 }));
    const late = await fetch(`${url}/stream/stream_then_fail?args=${args}`);
    expect(late.status).toBe(200);
    expect([...(await late.text()).matchAll(/^event: (\w+)$/gm)].map((m) => m[1])).toEqual(['chunk', 'chunk', 'error']);
  });

  it('ends a stream that yields nothing with an end event', async () => {
    const args = encodeURIComponent(JSON.stringify({ steps: 0 }));
    const response = await fetch(`${url}/stream/progress?args=${args}`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('event: end\ndata: null\n\n');
  });

  it('refuses bodies that are not JSON with 415', async () => {
    const form = await fetch(`${url}/execute/add`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1&b=2' });
    expect(form.status).toBe(415);
    expect(((await form.json()) as any).error.code).toBe('unsupported_media_type');
    const text = await fetch(`${url}/sessions`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
    expect(text.status).toBe(415);
    await text.text();
    expect((await fetch(`${url}/sessions`, { method: 'POST' })).status).toBe(201);
  });

  it('stops the Python generator when the HTTP client disconnects', async () => {
    const token = `sse-${process.pid}`;
    const controller = new AbortController();
    // This suite's requestTimeoutMs (2 s) would stop the stream by itself: finish well before it.
    const args = encodeURIComponent(JSON.stringify({ n: 100_000, delay_ms: 5, token }));
    const response = await fetch(`${url}/stream/count?args=${args}`, { signal: controller.signal });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    const finalized = async () => (await post('/execute/finalized', { token })).body.result === true;
    const deadline = Date.now() + 1500;
    while (!(await finalized())) {
      if (Date.now() > deadline) throw new Error('the generator did not stop after the client left');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });

  it('GET /pool/stats and /pool/workers describe the pool', async () => {
    const stats = (await fetch(`${url}/pool/stats`).then((r) => r.json())) as any;
    expect(stats).toEqual([expect.objectContaining({ pool: 'default', workers: expect.objectContaining({ total: 2 }) })]);
    expect(stats[0].requests).toBeGreaterThan(0);
    const workers = (await fetch(`${url}/pool/workers`).then((r) => r.json())) as any;
    expect(workers).toHaveLength(2);
    expect(workers[0]).toEqual(expect.objectContaining({ pool: 'default', pid: expect.any(Number), state: expect.any(String) }));
  });

  it('POST /pool/workers/:id/recycle replaces a worker; an unknown one is 404', async () => {
    const [victim] = (await fetch(`${url}/pool/workers`).then((r) => r.json())) as Array<{ id: string; pid: number }>;
    expect((await fetch(`${url}/pool/workers/${victim.id}/recycle`, { method: 'POST' })).status).toBe(204);
    const after = (await fetch(`${url}/pool/workers`).then((r) => r.json())) as Array<{ id: string; state: string }>;
    expect(after.filter((w) => w.state === 'ready')).toHaveLength(2);
    expect(after.filter((w) => w.state !== 'stopping').map((w) => w.id)).not.toContain(victim.id);
    const missing = await fetch(`${url}/pool/workers/nope-1/recycle`, { method: 'POST' });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as any).error.code).toBe('worker_not_found');
    expect((await fetch(`${url}/pool/restart`, { method: 'POST' })).status).toBe(204);
  });

  it('GET /health, /health/live and /health/ready report through Terminus', async () => {
    const ready = await fetch(`${url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ok',
      details: { snakepit: { status: 'up', pools: { default: { state: 'up', status: 'ready', ready: 2, size: 2 } } } },
    });
    expect(await (await fetch(`${url}/health/live`)).json()).toMatchObject({ status: 'ok', details: {} });
    expect(await (await fetch(`${url}/health`)).json()).toMatchObject({ details: { snakepit: { status: 'up' }, memory_heap: { status: 'up' } } });
  });

  it('GET /metrics serves the pool in Prometheus text format', async () => {
    await post('/execute/add', { a: 1, b: 1 });
    const response = await fetch(`${url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0.0.4/);
    const text = await response.text();
    expect(text).toMatch(/^snakepit_workers\{pool="default",state="ready"\} 2$/m);
    expect(text).toMatch(/^snakepit_pool_up\{pool="default",status="ready"\} 1$/m);
    expect(text).toMatch(/^# TYPE snakepit_execution_seconds histogram$/m);
    expect(text).toMatch(/^snakepit_execution_seconds_bucket\{le="\+Inf",pool="default",tool="add"\} [1-9]\d*$/m);
    expect(text).toMatch(/^snakepit_queue_wait_seconds_count\{pool="default",tool="add"\} [1-9]\d*$/m);
    expect(text).toMatch(/^snakepit_requests_total\{pool="default",tool="add",outcome="ok"\} [1-9]\d*$/m);
    // A made-up tool name is refused before it is a call, and never becomes a label.
    await post('/execute/no_such_tool_123');
    expect(await fetch(`${url}/metrics`).then((r) => r.text())).not.toContain('no_such_tool_123');
    expect(text).toMatch(/^# TYPE snakepit_events_total counter$/m);
    const requests = Number(/^snakepit_events_total\{pool="default",kind="requests"\} (\d+)$/m.exec(text)?.[1]);
    expect(requests).toBe(app.get(PoolService).stats().requests);
  });
});
