import type { WireValue } from '../bridge/wire';
import { decodeValue } from './value-decoder';
import { encodeValue } from './value-encoder';
import { TAG } from './value-tags';

/** JSON text that holds all of `value`, binary data as base64 (what the session store keeps).
 *  Throws ValueEncodingError. */
export function standaloneJson(value: unknown, root: string): string {
  return encodeValue(value, { root, binary: 'base64' }).json;
}

/** A value kept as standalone JSON text, as JavaScript. */
export function fromStandaloneJson(json: string): unknown {
  return decodeValue(json, mayHoldTags(json) ? 1 : 0);
}

/** Standalone JSON text as a wire Value. */
export function standaloneWireValue(json: string): WireValue {
  return { json: Buffer.from(json, 'utf8'), buffers: [], tags: mayHoldTags(json) ? 1 : 0 };
}

/** A value with its buffers inside the message (replies to workers: host tools). Throws
 *  ValueEncodingError. */
export function inlineWireValue(value: unknown, root: string): WireValue {
  const encoded = encodeValue(value, { root });
  return { json: Buffer.from(encoded.json, 'utf8'), buffers: encoded.buffers.map((inline) => ({ inline })), tags: encoded.tags };
}

/** `value` as it is after a crossing: encoded and decoded by the value model (the testing
 *  module's stand-in for the wire). Throws ValueEncodingError. */
export function throughTheValueModel(value: unknown, root: string): unknown {
  const encoded = encodeValue(value, { root });
  return decodeValue(encoded.json, encoded.tags, (index) => Buffer.from(encoded.buffers[index])); // copies, as a crossing makes
}

function mayHoldTags(json: string): boolean {
  return json.includes(`"${TAG}"`);
}
