import { NdArray, type PythonToolInfo } from '@snakepit/nestjs';
import { fromHttpArguments } from '../apps/sample/src/http-arguments';
import { buildOpenApiDocument, toOpenApiSchema } from '../apps/sample/src/openapi';

/** The sample's OpenAPI document from tool schemas: no Python, no app. */
describe('sample app OpenAPI mapping', () => {
  const DIALECT = 'https://json-schema.org/draft/2020-12/schema';

  it('drops $schema, gives x-snakepit-type values their HTTP forms, keeps the rest', () => {
    const { schema, defs } = toOpenApiSchema(
      {
        $schema: DIALECT,
        type: 'object',
        properties: {
          blob: { 'x-snakepit-type': 'bytes', description: 'raw' },
          when: { 'x-snakepit-type': 'datetime' },
          weights: { 'x-snakepit-type': 'ndarray', dtype: 'float32' },
          ids: { 'x-snakepit-type': 'ndarray', dtype: 'int64' },
          any: { 'x-snakepit-type': 'ndarray' },
          n: { type: 'integer', default: 3 },
        },
        required: ['blob'],
      },
      'tool.arguments',
    );
    expect(defs).toEqual({});
    expect(schema).toEqual({
      type: 'object',
      properties: {
        blob: { type: 'string', format: 'byte', contentEncoding: 'base64', 'x-snakepit-type': 'bytes', description: 'raw' },
        when: { type: 'string', format: 'date-time', 'x-snakepit-type': 'datetime' },
        weights: expect.objectContaining({ type: 'object', required: ['dtype', 'shape', 'data'], 'x-snakepit-type': 'ndarray' }),
        ids: expect.objectContaining({ type: 'object' }),
        any: expect.objectContaining({ type: 'object' }),
        n: { type: 'integer', default: 3 },
      },
      required: ['blob'],
    });
    const props = schema.properties as Record<string, any>;
    expect(props.weights.properties).toMatchObject({ dtype: { const: 'float32' }, shape: { items: { type: 'integer' } }, data: { items: { type: 'number' } } });
    expect(props.weights.dtype).toBeUndefined();
    expect(props.ids.properties.data.items).toEqual({ type: 'string', pattern: '^-?[0-9]+$' });
    expect(props.any.properties.dtype.enum).toContain('uint64');
  });

  it('moves $defs to components/schemas under the tool’s name and rewrites the $refs to them', () => {
    const { schema, defs } = toOpenApiSchema(
      {
        $schema: DIALECT,
        type: 'array',
        items: { $ref: '#/$defs/Node' },
        $defs: {
          Node: { type: 'object', properties: { children: { type: 'array', items: { $ref: '#/$defs/Node' } }, colour: { $ref: '#/$defs/Colour' } } },
          Colour: { title: 'Colour', enum: ['red', 'green'] },
        },
      },
      'tree.result',
    );
    expect(schema).toEqual({ type: 'array', items: { $ref: '#/components/schemas/tree.result.Node' } });
    expect(defs).toEqual({
      'tree.result.Node': {
        type: 'object',
        properties: { children: { type: 'array', items: { $ref: '#/components/schemas/tree.result.Node' } }, colour: { $ref: '#/components/schemas/tree.result.Colour' } },
      },
      'tree.result.Colour': { title: 'Colour', enum: ['red', 'green'] },
    });
  });

  it('puts a root that refers to itself in components too', () => {
    const { schema, defs } = toOpenApiSchema({ $schema: DIALECT, type: 'object', properties: { next: { $ref: '#' } } }, 'list.result');
    expect(schema).toEqual({ $ref: '#/components/schemas/list.result' });
    expect(defs['list.result']).toEqual({ type: 'object', properties: { next: { $ref: '#/components/schemas/list.result' } } });
  });

  it('makes an operation per tool: a body and a { result } for a plain one, ?args= and events for a streaming one', () => {
    const tools: PythonToolInfo[] = [
      {
        name: 'blob',
        description: 'Some bytes.',
        supportsStreaming: false,
        parameters: [],
        schemas: { arguments: { $schema: DIALECT, type: 'object', properties: {}, additionalProperties: false }, result: { $schema: DIALECT, 'x-snakepit-type': 'bytes' }, description: 'Some bytes.' },
      },
      {
        name: 'ticks',
        description: 'Ticks.',
        supportsStreaming: true,
        parameters: [],
        schemas: {
          arguments: { $schema: DIALECT, type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] },
          result: { $schema: DIALECT, type: 'null' },
          chunk: { $schema: DIALECT, $ref: '#/$defs/Tick', $defs: { Tick: { type: 'object' } } },
          description: 'Ticks.',
        },
      },
    ];
    const doc = buildOpenApiDocument(tools, { title: 't', version: '1' }) as any;
    expect(Object.keys(doc.paths)).toEqual(['/execute/blob', '/stream/ticks']);
    const blob = doc.paths['/execute/blob'].post;
    expect(blob.requestBody.required).toBe(false);
    expect(blob.responses['200'].content['application/json'].schema.required).toEqual(['result', 'encoding']);
    expect(Object.keys(blob.responses)).toEqual(['200', '400', '413', '415', '422', '500', '502', '503', '504']);
    expect(doc.components.responses.UnprocessableEntity.description).toContain('python_value_error');
    expect(doc.components.responses.BadRequest.description).toContain('tool_arguments_invalid');
    expect(doc.components.responses.ServiceUnavailable.headers['Retry-After']).toBeDefined();
    const ticks = doc.paths['/stream/ticks'].get;
    expect(ticks.parameters[0].required).toBe(true);
    expect(ticks.responses['200'].content['text/event-stream'].schema.oneOf[0].properties.data).toEqual({ $ref: '#/components/schemas/ticks.chunk.Tick' });
    expect(doc.components.schemas['ticks.chunk.Tick']).toEqual({ type: 'object' });
  });

  it('turns HTTP forms of typed arguments into what Python takes (fromHttpArguments)', () => {
    const schema = {
      type: 'object',
      properties: {
        blob: { 'x-snakepit-type': 'bytes' },
        when: { 'x-snakepit-type': 'datetime' },
        values: { 'x-snakepit-type': 'ndarray', dtype: 'float32' },
        nested: { $ref: '#/$defs/Inner' },
        maybe: { anyOf: [{ 'x-snakepit-type': 'bytes' }, { type: 'null' }] },
        plain: { type: 'string' },
      },
      $defs: { Inner: { type: 'object', properties: { ids: { 'x-snakepit-type': 'ndarray' } } } },
    };
    const converted = fromHttpArguments(
      {
        blob: Buffer.from('hi').toString('base64'),
        when: '2024-01-02T03:04:05Z',
        values: { dtype: 'float32', shape: [2, 1], data: [1.5, 2.5] },
        nested: { ids: { dtype: 'int64', shape: [2], data: ['9007199254740993', 1] } },
        maybe: Buffer.from('x').toString('base64'),
        plain: 'aGk=',
      },
      schema,
    );
    expect(converted.blob).toEqual(Buffer.from('hi'));
    expect(converted.when).toEqual(new Date('2024-01-02T03:04:05Z'));
    expect(converted.values).toBeInstanceOf(NdArray);
    expect(converted.values).toMatchObject({ dtype: 'float32', shape: [2, 1], data: Float32Array.from([1.5, 2.5]) });
    expect((converted.nested as { ids: NdArray }).ids.data).toEqual(BigInt64Array.from([9007199254740993n, 1n]));
    expect(converted.maybe).toEqual(Buffer.from('x'));
    expect(converted.plain).toBe('aGk='); // a string where a string is due stays one
    expect(() => fromHttpArguments({ values: { dtype: 'complex', data: [1] } }, schema)).toThrow(/args\.values\.dtype must be one of/);
    expect(fromHttpArguments({ a: 'x' }, undefined)).toEqual({ a: 'x' });
  });
});
