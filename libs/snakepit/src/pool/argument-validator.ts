import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import { NdArray, dtypeOf, type TypedArray } from '../data/nd-array';
import { isShareable } from '../data/value-encoder';
import { ToolArgumentsError, type ArgumentProblem } from '../errors';
import type { JsonSchema } from './worker.types';

/** What `"x-snakepit-type"` marks: values JSON has no word for, as the host sends them. */
const MARKED: Readonly<Record<string, { test(value: unknown): boolean; expected: string }>> = {
  bytes: {
    test: (value) => value instanceof Uint8Array || value instanceof ArrayBuffer || value instanceof DataView,
    expected: 'must be bytes (a Buffer, Uint8Array, ArrayBuffer or DataView)',
  },
  ndarray: {
    test: (value) => value instanceof NdArray || (ArrayBuffer.isView(value) && !(value instanceof DataView)),
    expected: 'must be an array of numbers (a typed array or an NdArray)',
  },
  datetime: {
    test: (value) => value instanceof Date,
    expected: 'must be a Date',
  },
};

/** Stands for a SharedValue while its arguments are checked: what it holds is known to the
 *  worker only, so it passes any marker and the problems found at it are dropped. */
const SHARED = Object.freeze({ sharedValue: true });

type Keyword = ((schema: unknown, data: unknown) => boolean) & { errors?: Array<Partial<ErrorObject>> };

function markerKeyword(): Keyword {
  const check: Keyword = (schema, data) => {
    const marked = MARKED[schema as string];
    if (!marked || data === SHARED || marked.test(data)) return true; // a marker this version does not know: open
    check.errors = [{ keyword: 'x-snakepit-type', message: marked.expected, params: { type: schema } }];
    return false;
  };
  return check;
}

function dtypeKeyword(): Keyword {
  const check: Keyword = (schema, data) => {
    const dtype = data instanceof NdArray ? data.dtype : ArrayBuffer.isView(data) && !(data instanceof DataView) ? dtypeOf(data as TypedArray) : undefined;
    if (dtype === undefined || dtype === schema) return true; // not an array: "x-snakepit-type" says so
    check.errors = [{ keyword: 'dtype', message: `must have dtype ${String(schema)} (got ${dtype})`, params: { dtype: schema } }];
    return false;
  };
  return check;
}

/**
 * One Ajv (draft 2020-12) for a pool's tools, with the bridge's keywords: `x-snakepit-type`
 * (bytes, ndarray, datetime) and `dtype`. Formats are annotations (as draft 2020-12 has them by
 * default) and keywords Ajv does not know are ignored, so that no schema the bridge (or
 * pydantic) emits makes it throw.
 */
export function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false, addUsedSchema: false, validateSchema: false });
  ajv.addKeyword({ keyword: 'x-snakepit-type', schemaType: 'string', validate: markerKeyword(), errors: true });
  ajv.addKeyword({ keyword: 'dtype', schemaType: 'string', validate: dtypeKeyword(), errors: true });
  return ajv;
}

/** Checks one tool's arguments against its arguments schema, compiled once. */
export class ArgumentValidator {
  private constructor(
    readonly tool: string,
    private readonly validate: ValidateFunction,
  ) {}

  /** The validator of `schema`; throws what Ajv throws for a schema it cannot compile. */
  static compile(ajv: Ajv2020, tool: string, schema: JsonSchema): ArgumentValidator {
    return new ArgumentValidator(tool, ajv.compile(schema));
  }

  /** Throws ToolArgumentsError listing every problem (undefined arguments are `{}`). */
  assert(args: unknown): void {
    const shared: string[] = [];
    const view = viewOf(args ?? {}, '', shared);
    if (this.validate(view)) return;
    const problems = problemsOf(this.validate.errors ?? [], shared);
    if (problems.length) throw new ToolArgumentsError(this.tool, problems);
  }
}

/**
 * The arguments as they will arrive, for the schema: what the encoder drops (undefined
 * properties) is left out, a bigint is the integer it is, an object with toJSON() is what that
 * returns, and a SharedValue is SHARED (its path noted). Copied only from the first change.
 */
function viewOf(value: unknown, path: string, shared: string[], depth = 0): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (typeof value !== 'object' || value === null || depth > 64) return value;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== Array.prototype && proto !== null) {
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof NdArray || value instanceof Date) return value;
    if (isShareable(value)) {
      shared.push(path);
      return SHARED;
    }
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    try {
      return viewOf((value as { toJSON(): unknown }).toJSON(), path, shared, depth + 1);
    } catch {
      return value; // the encoder reports it
    }
  }
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (typeof item !== 'object' && typeof item !== 'bigint') continue;
      const seen = viewOf(item, `${path}/${i}`, shared, depth + 1);
      if (seen !== item) (out ??= value.slice())[i] = seen;
    }
    return out ?? value;
  }
  let out: Record<string, unknown> | undefined;
  const object = value as Record<string, unknown>;
  for (const key of Object.keys(object)) {
    const item = object[key];
    if (item === undefined) {
      out ??= { ...object };
      delete out[key];
      continue;
    }
    if (typeof item !== 'object' && typeof item !== 'bigint') continue;
    const seen = viewOf(item, `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`, shared, depth + 1);
    if (seen !== item) (out ??= { ...object })[key] = seen;
  }
  return out ?? value;
}

/** Ajv's errors as `{ path, message }`, one per problem, in a caller's words. */
function problemsOf(errors: ErrorObject[], shared: string[]): ArgumentProblem[] {
  const seen = new Set<string>();
  const problems: ArgumentProblem[] = [];
  for (const error of errors) {
    if (aboutShared(error, shared)) continue;
    const problem = { path: pathOf(error.instancePath), message: messageOf(error) };
    const key = `${problem.path} ${problem.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push(problem);
  }
  return problems;
}

/** A problem at (or under) a SharedValue, or an anyOf/oneOf above one that it may have failed. */
function aboutShared(error: ErrorObject, shared: string[]): boolean {
  return shared.some(
    (path) =>
      error.instancePath === path ||
      error.instancePath.startsWith(`${path}/`) ||
      ((error.keyword === 'anyOf' || error.keyword === 'oneOf' || error.keyword === 'if') && path.startsWith(error.instancePath)),
  );
}

/** `/items/0/name` as `args.items[0].name`. */
function pathOf(pointer: string): string {
  let path = 'args';
  if (!pointer) return path;
  for (const raw of pointer.slice(1).split('/')) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    path += /^\d+$/.test(part) ? `[${part}]` : /^[A-Za-z_$][\w$]*$/.test(part) ? `.${part}` : `[${JSON.stringify(part)}]`;
  }
  return path;
}

function messageOf(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `must have the property "${String(params.missingProperty)}"`;
    case 'additionalProperties':
      return `must not have the property "${String(params.additionalProperty)}"`;
    case 'unevaluatedProperties':
      return `must not have the property "${String(params.unevaluatedProperty)}"`;
    case 'type':
      return `must be ${Array.isArray(params.type) ? params.type.join(' or ') : String(params.type)}`;
    case 'enum':
      return `must be one of ${(params.allowedValues as unknown[]).map((value) => JSON.stringify(value)).join(', ')}`;
    case 'const':
      return `must be ${JSON.stringify(params.allowedValue)}`;
    case 'anyOf':
    case 'oneOf':
      return 'must match one of the schemas listed for it (see the other problems at this path)';
    default:
      return (error.message ?? `must pass "${error.keyword}"`).replace(/NOT/g, 'not');
  }
}
