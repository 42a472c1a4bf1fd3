import { BadRequestException } from '@nestjs/common';
import { ndarray, type DType, type JsonSchema, type TypedArray } from '@snakepit/nestjs';

/** Each dtype's typed array, built from JSON numbers (64-bit integers from decimal strings). */
const FROM_JSON: Record<DType, (data: unknown[]) => TypedArray> = {
  bool: (data) => Uint8Array.from(data, (x) => (x ? 1 : 0)),
  int8: (data) => Int8Array.from(data as number[]),
  uint8: (data) => Uint8Array.from(data as number[]),
  int16: (data) => Int16Array.from(data as number[]),
  uint16: (data) => Uint16Array.from(data as number[]),
  int32: (data) => Int32Array.from(data as number[]),
  uint32: (data) => Uint32Array.from(data as number[]),
  int64: (data) => BigInt64Array.from(data, (x) => BigInt(x as string | number)),
  uint64: (data) => BigUint64Array.from(data, (x) => BigInt(x as string | number)),
  float32: (data) => Float32Array.from(data as number[]),
  float64: (data) => Float64Array.from(data as number[]),
};

/**
 * A tool's arguments as HTTP gives them (JSON), turned into what its schema says Python takes,
 * where JSON cannot hold it: base64 text into bytes (a Buffer), `{ dtype, shape, data }` into an
 * array (ndarray), ISO text into a Date. Everything else stays as it is; the host checks the
 * result against the schema (ToolArgumentsError). The inverse of toHttpResult.
 */
export function fromHttpArguments(args: Record<string, unknown>, schema: JsonSchema | undefined): Record<string, unknown> {
  if (!schema) return args;
  const defs = (schema.$defs ?? {}) as Record<string, JsonSchema>;
  return convert(args, schema, defs, 'args') as Record<string, unknown>;
}

function convert(value: unknown, schema: JsonSchema, defs: Record<string, JsonSchema>, path: string): unknown {
  const ref = typeof schema.$ref === 'string' ? /^#\/\$defs\/(.+)$/.exec(schema.$ref)?.[1] : undefined;
  if (ref !== undefined && defs[ref]) return convert(value, defs[ref], defs, path);
  const marked = schema['x-snakepit-type'];
  if (marked === 'bytes' && typeof value === 'string') return Buffer.from(value, 'base64');
  if (marked === 'datetime' && typeof value === 'string' && !Number.isNaN(Date.parse(value))) return new Date(value);
  if (marked === 'ndarray' && isHttpArray(value)) return toArray(value, path);
  for (const branch of (schema.anyOf ?? schema.oneOf ?? []) as JsonSchema[]) {
    const converted = convert(value, branch, defs, path);
    if (converted !== value) return converted;
  }
  if (Array.isArray(value)) {
    const prefix = (schema.prefixItems ?? []) as JsonSchema[];
    const items = schema.items as JsonSchema | undefined;
    return value.map((item, i) => (prefix[i] ?? items ? convert(item, (prefix[i] ?? items)!, defs, `${path}[${i}]`) : item));
  }
  if (typeof value === 'object' && value !== null) {
    const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
    const extra = typeof schema.additionalProperties === 'object' ? (schema.additionalProperties as JsonSchema) : undefined;
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => {
        const own = Object.hasOwn(properties, key) ? properties[key] : extra;
        return [key, own ? convert(item, own, defs, `${path}.${key}`) : item];
      }),
    );
  }
  return value;
}

function isHttpArray(value: unknown): value is { dtype: string; shape: unknown; data: unknown[] } {
  const v = value as { dtype?: unknown; data?: unknown };
  return typeof value === 'object' && value !== null && typeof v.dtype === 'string' && Array.isArray(v.data);
}

function toArray(value: { dtype: string; shape: unknown; data: unknown[] }, path: string): unknown {
  const build = Object.hasOwn(FROM_JSON, value.dtype) ? FROM_JSON[value.dtype as DType] : undefined;
  if (!build) throw new BadRequestException(`${path}.dtype must be one of ${Object.keys(FROM_JSON).join(', ')} (got ${JSON.stringify(value.dtype)})`);
  const shape = Array.isArray(value.shape) ? (value.shape as number[]) : [value.data.length];
  try {
    return ndarray(build(value.data), shape, value.dtype as DType);
  } catch (error) {
    throw new BadRequestException(`${path} is not an array of ${value.dtype} with shape ${JSON.stringify(shape)}: ${(error as Error).message}`);
  }
}
