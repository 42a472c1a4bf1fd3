import { PayloadTooLargeError, SerializationError } from '../../errors';
import { standaloneJson } from '../../data/standalone-value';
import { ValueEncodingError } from '../../data/value-encoder';
import { errorToWire } from '../error-wire';
import type { HostLoad, RemoteFrame } from '../remote-wire';

export const REMOTE_PAYLOAD_HINT = "Raise the broker's max_payload and maxPayloadBytes (on hosts and callers), or keep large data on the host (pool.share()).";

/** What a message holds beside its value (the frame's other fields, the transport's envelope). */
export const ENVELOPE_BYTES = 1024;

/**
 * `value` as standalone JSON for the broker: SerializationError for a value that cannot go,
 * PayloadTooLargeError for one over the broker's largest message (it would be dropped on the way).
 */
export function valueText(value: unknown, tool: string, root: string, maxPayloadBytes: number): string {
  let text: string;
  try {
    text = standaloneJson(value, root);
  } catch (error) {
    if (error instanceof ValueEncodingError) throw new SerializationError('result', tool, error.message, error.path);
    throw error;
  }
  const bytes = Buffer.byteLength(text) + ENVELOPE_BYTES;
  if (bytes > maxPayloadBytes) {
    throw new PayloadTooLargeError('result', tool, `the ${root} takes ${bytes} bytes on the broker, over maxPayloadBytes (${maxPayloadBytes})`, REMOTE_PAYLOAD_HINT);
  }
  return text;
}

export function errorFrame(hostId: string, error: unknown, load?: HostLoad): RemoteFrame {
  return { kind: 'error', hostId, error: errorToWire(error), load };
}
