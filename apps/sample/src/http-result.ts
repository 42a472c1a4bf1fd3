import { NdArray } from '@snakepit/nestjs';

/** A tool's result as the sample app answers it, as JSON: bytes become base64 (a top-level
 *  result says so with `encoding`), arrays `{ dtype, shape, data }`, big integers strings. */
export function toHttpResult(result: unknown): { result: unknown; encoding?: 'base64' } {
  return Buffer.isBuffer(result) ? { result: result.toString('base64'), encoding: 'base64' } : { result: jsonSafe(result) };
}

/** A value as this app's JSON gives it: bytes as base64, arrays `{ dtype, shape, data }`, big
 *  integers as strings. */
export function jsonSafe(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (value instanceof NdArray) return value.toJSON();
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, jsonSafe(item)]));
  }
  return value;
}
