/**
 * How deeply JSON sent to Python (call arguments, session state and metadata) may nest. Python
 * decodes JSON recursively and fails far below what JavaScript accepts; 100 levels is deeper
 * than any real payload, and safe for every Python.
 */
export const MAX_JSON_DEPTH = 100;

/**
 * JSON text for `value`, or an Error saying what JSON would silently change or drop (functions,
 * symbols, undefined in arrays, NaN, BigInt, Map, Set, Date objects, cycles) or that it nests
 * deeper than MAX_JSON_DEPTH. `undefined` as the value itself gives undefined.
 */
export function strictJson(value: unknown): string {
  return JSON.stringify(value, strictReplacer());
}

/** Objects JSON.stringify would turn into something else ({}, a string, an index map). */
export function changedByJson(value: object): string | undefined {
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return 'binary data (send it as a base64 string)';
  if (value instanceof Map || value instanceof Set) return `a ${value.constructor.name}; use an object or array`;
  if (value instanceof Date) return 'a Date';
  if (value instanceof RegExp || value instanceof Error) return `${/^[AEIOU]/.test(value.constructor.name) ? 'an' : 'a'} ${value.constructor.name}`;
  return undefined;
}

/** How deeply JSON text nests (0 for a scalar); it need not be valid. Linear, no recursion. */
export function jsonTextDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/** A replacer for one JSON.stringify: refuses what JSON would change, and tracks the depth of
 *  each container through its holder. */
function strictReplacer(): (this: any, key: string, value: unknown) => unknown {
  const depths = new WeakMap<object, number>();
  return function (this: any, key: string, value: unknown): unknown {
    const where = key ? `"${key}"` : 'the value';
    // `value` has been through toJSON already; `this[key]` is what the caller passed.
    const original = key === '' ? value : this[key];
    if (original !== null && typeof original === 'object' && !(original instanceof Date)) {
      const changed = changedByJson(original);
      if (changed) throw new Error(`${where} is ${changed}`);
    }
    switch (typeof value) {
      case 'function':
      case 'symbol':
      case 'bigint':
        throw new Error(`${where} is a ${typeof value}`);
      case 'undefined':
        if (Array.isArray(this)) throw new Error(`an array holds undefined`);
        return value;
      case 'number':
        if (!Number.isFinite(value)) throw new Error(`${where} is ${value}`);
        return value;
      case 'object':
        if (value !== null) {
          const depth = (depths.get(this) ?? 0) + 1;
          if (depth > MAX_JSON_DEPTH) throw new Error(`it nests more than ${MAX_JSON_DEPTH} levels deep`);
          depths.set(value, depth);
        }
        return value;
      default:
        return value;
    }
  };
}
