import type { PythonToolInfo } from '../pool/worker.types';
import { interfaceNameFor, toolsModule } from './ts-from-schema';

const DIALECT = 'https://json-schema.org/draft/2020-12/schema';

function tool(name: string, args: Record<string, unknown>, result: Record<string, unknown> = {}, chunk?: Record<string, unknown>): PythonToolInfo {
  return {
    name,
    description: '',
    supportsStreaming: chunk !== undefined,
    parameters: [],
    schemas: { arguments: { $schema: DIALECT, type: 'object', ...args }, result: { $schema: DIALECT, ...result }, ...(chunk ? { chunk } : {}), description: `The ${name} tool.` },
  };
}

/** The `args` and `result` of one tool in the module. */
function member(source: string, name: string): string {
  const start = source.indexOf(`  ${name}: {\n`);
  return source.slice(start, source.indexOf('\n  };\n', start) + 6);
}

describe('gen types: JSON Schema to TypeScript', () => {
  it('names the interface after the adapter class', () => {
    expect(interfaceNameFor('my_pkg.adapter:MyAdapter')).toBe('MyTools');
    expect(interfaceNameFor('typed_tools:TypedTools')).toBe('TypedTools');
    expect(interfaceNameFor('x:Adapter')).toBe('PythonTools');
  });

  it('tuples with a rest, unions, allOf, quoted names, boolean schemas, a tool without schemas', () => {
    const source = toolsModule(
      [
        tool('shapes', {
          properties: {
            'odd-name': { type: 'string' },
            rest: { type: 'array', prefixItems: [{ type: 'integer' }], items: { type: ['string', 'null'] } },
            short: { type: 'array', prefixItems: [{ type: 'integer' }, { type: 'string' }], minItems: 1, maxItems: 2 },
            either: { anyOf: [{ type: 'integer' }, { type: 'array', items: { type: 'string' } }] },
            both: { allOf: [{ type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] }, { type: 'object', additionalProperties: { type: 'string' } }] },
            never: false,
            any: true,
            values: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'], additionalProperties: { type: 'string' } },
          },
          required: ['odd-name', 'rest'],
          additionalProperties: false,
        }),
        { name: 'old', description: 'From an old bridge.', supportsStreaming: true, parameters: [] },
      ],
      'T',
      'cmd',
    );
    expect(member(source, 'shapes')).toBe(`  shapes: {
    args: {
      "odd-name": string;
      rest: [number, ...(string | null)[]];
      short?: [number, string?];
      either?: number | string[];
      both?: {
        a: number;
        [key: string]: unknown;
      } & Record<string, string>;
      never?: never;
      any?: unknown;
      values?: {
        n: number;
        [key: string]: string | number;
      };
    };
    result: unknown;
  };
`);
    expect(source).toContain('  /** From an old bridge. */\n  old: {\n    args: Record<string, unknown>;\n    result: unknown;\n    chunk: unknown;\n  };\n');
    expect(source).not.toContain('import type');
  });

  it('$defs: named types, shared when equal, numbered when two tools mean different ones, recursive ones', () => {
    const color = { title: 'Color', enum: ['red', 'green'] };
    const source = toolsModule(
      [
        tool('a', { properties: { c: { $ref: '#/$defs/Color' } }, required: ['c'], additionalProperties: false, $defs: { Color: color } }),
        tool('b', { properties: { c: { $ref: '#/$defs/Color' } }, required: ['c'], additionalProperties: false, $defs: { Color: color } }),
        tool('c', { properties: { c: { $ref: '#/$defs/Color' } }, required: ['c'], additionalProperties: false, $defs: { Color: { enum: [1, 2] } } }),
        tool('tree', { properties: {}, additionalProperties: false }, {
          $ref: '#/$defs/Node',
          $defs: { Node: { type: 'object', description: 'A tree.', properties: { children: { type: 'array', items: { $ref: '#/$defs/Node' } } }, required: ['children'], additionalProperties: false } },
        }),
      ],
      'T',
      'cmd',
    );
    expect(source).toContain('export type Color = "red" | "green";\n');
    expect(source).toContain('export type Color2 = 1 | 2;\n');
    expect(source).toContain('/** A tree. */\nexport type Node = {\n  children: Node[];\n};\n');
    expect(member(source, 'b')).toContain('c: Color;');
    expect(member(source, 'c')).toContain('c: Color2;');
    expect(member(source, 'tree')).toBe('  tree: {\n    args: Record<string, never>;\n    result: Node;\n  };\n');
  });

  it('bytes, arrays by dtype, datetimes; the same output for the same tools in any order', () => {
    const tools = [
      tool('z', { properties: { when: { 'x-snakepit-type': 'datetime' }, raw: { 'x-snakepit-type': 'bytes' } }, required: ['when', 'raw'] }, { 'x-snakepit-type': 'ndarray', dtype: 'int64' }),
      tool('y', {}, { 'x-snakepit-type': 'ndarray' }, { 'x-snakepit-type': 'ndarray', dtype: 'float64' }),
    ];
    const source = toolsModule(tools, 'T', 'cmd');
    expect(source).toContain("import type { NdArray, TypedArray } from '@snakepit/nestjs';");
    expect(member(source, 'z')).toContain('when: Date;\n      raw: Buffer | Uint8Array;\n      [key: string]: unknown;\n    };\n    result: NdArray<BigInt64Array> | BigInt64Array;');
    expect(member(source, 'y')).toBe('  y: {\n    args: Record<string, unknown>;\n    result: NdArray | TypedArray;\n    chunk: NdArray<Float64Array> | Float64Array;\n  };\n');
    expect(source.indexOf('  y: {')).toBeLessThan(source.indexOf('  z: {'));
    expect(toolsModule([...tools].reverse(), 'T', 'cmd')).toBe(source);
  });
});
