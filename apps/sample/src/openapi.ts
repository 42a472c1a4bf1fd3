import type { JsonSchema, PythonToolInfo } from '@snakepit/nestjs';
import { HTTP_STATUS_BY_CODE } from '@snakepit/nestjs/http';

/**
 * The sample app's OpenAPI 3.1 document, made from the JSON Schemas (draft 2020-12) its Python
 * tools describe themselves with: one operation per tool, `POST /execute/<tool>` for a plain
 * tool and `GET /stream/<tool>` (Server-Sent Events) for a streaming one. Explicit paths rather
 * than one `/execute/{tool}` operation: Swagger UI ties a request body and a response to an
 * operation, not to a path parameter's value, so only explicit paths let it show each tool's
 * own form, example and result.
 *
 * OpenAPI 3.1 speaks JSON Schema 2020-12, so each schema goes in nearly as it is: `$schema`
 * dropped, `$defs` moved to `components/schemas` (named `<tool>.<part>.<Name>`, as the same name
 * may mean different things in two tools) with their `$ref`s rewritten, and the values marked
 * `x-snakepit-type` given the form they have in this app's JSON (see toHttpResult).
 */
export function buildOpenApiDocument(tools: readonly PythonToolInfo[], info: { title: string; version: string; description?: string }): OpenApiDocument {
  const components = new Components();
  const paths: Record<string, unknown> = {};
  for (const tool of [...tools].sort((a, b) => a.name.localeCompare(b.name))) {
    const schemas = tool.schemas ?? { arguments: { type: 'object' }, result: {}, description: tool.description };
    const args = components.add(tool.name, 'arguments', schemas.arguments);
    const result = components.add(tool.name, 'result', schemas.result);
    const summary = schemas.description || tool.description || undefined;
    if (tool.supportsStreaming) {
      const chunk = components.add(tool.name, 'chunk', schemas.chunk ?? {});
      paths[`/stream/${tool.name}`] = { get: streamOperation(tool.name, summary, args, chunk, result) };
    } else {
      paths[`/execute/${tool.name}`] = { post: executeOperation(tool.name, summary, args, result) };
    }
  }
  return {
    openapi: '3.1.0',
    info,
    tags: [
      { name: 'execute', description: 'Plain Python tools: the JSON body holds the keyword arguments.' },
      { name: 'stream', description: 'Streaming Python tools, as Server-Sent Events.' },
    ],
    paths,
    components: { schemas: { Error: ERROR_SCHEMA, ...components.schemas }, responses: errorResponses() },
  };
}

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description?: string };
  tags: { name: string; description: string }[];
  paths: Record<string, unknown>;
  components: { schemas: Record<string, JsonSchema>; responses: Record<string, unknown> };
}

/** One schema document of a tool as a schema inside the OpenAPI document. */
export function toOpenApiSchema(schema: JsonSchema, componentPrefix: string): { schema: JsonSchema; defs: Record<string, JsonSchema> } {
  const { $schema: _dialect, $defs, ...root } = schema as JsonSchema & { $defs?: Record<string, JsonSchema> };
  const refToRoot = usesRootRefs(root) || usesRootRefs($defs);
  const rewrite = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (node === null || typeof node !== 'object') return node;
    const out: JsonSchema = {};
    for (const [key, value] of Object.entries(node)) {
      out[key] = key === '$ref' && typeof value === 'string' ? rewriteRef(value, componentPrefix) : rewrite(value);
    }
    return httpForm(out);
  };
  const defs: Record<string, JsonSchema> = {};
  for (const [name, def] of Object.entries($defs ?? {})) defs[`${componentPrefix}.${name}`] = rewrite(def) as JsonSchema;
  const mapped = rewrite(root) as JsonSchema;
  // A `$ref` to the document itself ("#", "#/properties/x") would point at the OpenAPI document:
  // the root goes in components too, and they point there.
  if (refToRoot) defs[componentPrefix] = mapped;
  return { schema: refToRoot ? { $ref: `#/components/schemas/${componentPrefix}` } : mapped, defs };
}

const COMPONENTS = '#/components/schemas/';

function rewriteRef(ref: string, prefix: string): string {
  if (ref.startsWith('#/$defs/')) {
    const [name, ...rest] = ref.slice('#/$defs/'.length).split('/');
    return [`${COMPONENTS}${prefix}.${name}`, ...rest].join('/');
  }
  if (ref === '#' || ref.startsWith('#/')) return `${COMPONENTS}${prefix}${ref.slice(1)}`;
  return ref;
}

function usesRootRefs(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(usesRootRefs);
  if (node === null || typeof node !== 'object') return false;
  return Object.entries(node).some(([key, value]) =>
    key === '$ref' && typeof value === 'string' ? value === '#' || (value.startsWith('#/') && !value.startsWith('#/$defs/')) : usesRootRefs(value),
  );
}

const DTYPES = ['bool', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'float32', 'float64'];

/** A value marked `x-snakepit-type` in the form this app's JSON gives it; others as they are.
 *  The marker stays, as an annotation of what Python has. */
function httpForm(schema: JsonSchema): JsonSchema {
  switch (schema['x-snakepit-type']) {
    case 'bytes':
      return { type: 'string', format: 'byte', contentEncoding: 'base64', ...schema };
    case 'datetime':
      return { type: 'string', format: 'date-time', ...schema };
    case 'ndarray': {
      const dtype = typeof schema.dtype === 'string' ? schema.dtype : undefined;
      const { dtype: _dtype, ...rest } = schema;
      // 64-bit integers travel as decimal strings (JSON numbers cannot hold them all).
      const element = dtype === undefined ? { type: ['number', 'string'] } : dtype === 'int64' || dtype === 'uint64' ? { type: 'string', pattern: '^-?[0-9]+$' } : { type: 'number' };
      return {
        type: 'object',
        properties: {
          dtype: dtype === undefined ? { type: 'string', enum: DTYPES } : { const: dtype },
          shape: { type: 'array', items: { type: 'integer', minimum: 0 } },
          data: { type: 'array', items: element, description: 'The elements, flat, in C order.' },
        },
        required: ['dtype', 'shape', 'data'],
        ...rest,
      };
    }
    default:
      return schema;
  }
}

/** The schemas of every tool, and their definitions, for components/schemas. */
class Components {
  readonly schemas: Record<string, JsonSchema> = {};

  add(tool: string, part: string, schema: JsonSchema): JsonSchema {
    const mapped = toOpenApiSchema(schema, `${tool}.${part}`);
    Object.assign(this.schemas, mapped.defs);
    return mapped.schema;
  }
}

function isOpen(schema: JsonSchema): boolean {
  return Object.keys(schema).every((key) => key === 'title' || key === 'description' || key === 'default');
}

/** `{ result }`, with `encoding: "base64"` when the result is (or may be) bytes. */
function resultBody(result: JsonSchema): JsonSchema {
  const bytes = result['x-snakepit-type'] === 'bytes';
  const maybeBytes = bytes || isOpen(result) || JSON.stringify(result).includes('"x-snakepit-type":"bytes"');
  return {
    type: 'object',
    properties: {
      result,
      ...(maybeBytes ? { encoding: { const: 'base64', description: 'Present when the result itself is bytes (then a base64 string).' } } : {}),
    },
    required: bytes ? ['result', 'encoding'] : ['result'],
  };
}

function hasRequired(args: JsonSchema): boolean {
  return Array.isArray(args.required) && args.required.length > 0;
}

function executeOperation(tool: string, summary: string | undefined, args: JsonSchema, result: JsonSchema) {
  return {
    tags: ['execute'],
    operationId: `execute_${tool}`,
    ...(summary ? { summary } : {}),
    requestBody: { required: hasRequired(args), content: { 'application/json': { schema: args } } },
    responses: {
      200: { description: 'The result (bytes as base64, arrays as `{ dtype, shape, data }`).', content: { 'application/json': { schema: resultBody(result) } } },
      ...errorRefs([400, 413, 415, 422, 500, 502, 503, 504]),
    },
  };
}

function streamOperation(tool: string, summary: string | undefined, args: JsonSchema, chunk: JsonSchema, result: JsonSchema) {
  const event = (name: string, data: JsonSchema, final: boolean): JsonSchema => ({
    title: `${name} event`,
    type: 'object',
    properties: { data, index: { type: 'integer', minimum: 0 }, final: { const: final } },
    required: ['data', 'index', 'final'],
  });
  return {
    tags: ['stream'],
    operationId: `stream_${tool}`,
    ...(summary ? { summary } : {}),
    parameters: [
      {
        name: 'args',
        in: 'query',
        required: hasRequired(args),
        description: 'The keyword arguments: a JSON object, URL-encoded.',
        content: { 'application/json': { schema: args } },
      },
    ],
    responses: {
      200: {
        description:
          'Server-Sent Events, each with JSON `data`: a `chunk` event per chunk, then one `end` event (the final chunk, with the result, or `null`), or an `error` event (`{ code, message }`) if the tool fails mid-stream. The schema is that of the events\u2019 data.',
        content: {
          'text/event-stream': {
            schema: {
              oneOf: [
                event('chunk', chunk, false),
                { title: 'end event', oneOf: [event('end', result, true), { type: 'null' }] },
                { title: 'error event', type: 'object', properties: ERROR_DETAIL.properties, required: ['code', 'message'] },
              ],
            },
          },
        },
      },
      ...errorRefs([400, 422, 500, 502, 503, 504]),
    },
  };
}

const ERROR_DETAIL = {
  type: 'object',
  properties: {
    code: { type: 'string', description: 'What went wrong, e.g. `python_value_error`, `pool_saturated`.' },
    message: { type: 'string' },
    pythonType: { type: 'string', description: 'The Python exception\u2019s class, for a Python error.' },
    traceback: { type: 'string', description: 'Python\u2019s traceback (this demo shows it; an app in production should not).' },
  },
  required: ['code', 'message'],
};

const ERROR_SCHEMA: JsonSchema = { type: 'object', properties: { error: ERROR_DETAIL }, required: ['error'] };

/** The error codes a call is likely to meet, by status (HTTP_STATUS_BY_CODE), plus those the
 *  library's table does not hold. */
const LIKELY_CODES = ['invalid_call', 'tool_arguments_invalid', 'payload_too_large', 'python_value_error', 'python_type_error', 'python_key_error', 'worker_crashed', 'worker_unresponsive', 'pool_saturated', 'pool_failed', 'request_timeout', 'queue_timeout'];
const OTHER_CODES: Record<number, string[]> = {
  400: ['serialization_failed (arguments that cannot be sent)'],
  415: ['unsupported_media_type (a body that is not JSON)'],
  500: ['python_<exception> (any other Python exception, e.g. python_runtime_error)'],
};
const REASONS: Record<number, string> = { 400: 'BadRequest', 413: 'PayloadTooLarge', 415: 'UnsupportedMediaType', 422: 'UnprocessableEntity', 500: 'InternalServerError', 502: 'BadGateway', 503: 'ServiceUnavailable', 504: 'GatewayTimeout' };

function errorResponses(): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(REASONS).map(([status, name]) => {
      const codes = [...LIKELY_CODES.filter((code) => String(HTTP_STATUS_BY_CODE[code]) === status), ...(OTHER_CODES[Number(status)] ?? [])];
      const retry = status === '503' || status === '504';
      return [
        name,
        {
          description: `An error: ${codes.map((code) => `\`${code}\``).join(', ')}.`,
          ...(retry ? { headers: { 'Retry-After': { description: 'Seconds to wait before trying again (503s, and queue_timeout).', schema: { type: 'integer' } } } } : {}),
          content: { 'application/json': { schema: { $ref: `${COMPONENTS}Error` } } },
        },
      ];
    }),
  );
}

function errorRefs(statuses: number[]): Record<string, unknown> {
  return Object.fromEntries(statuses.map((status) => [status, { $ref: `#/components/responses/${REASONS[status]}` }]));
}
