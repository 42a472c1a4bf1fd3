import { SerializationError } from '../../errors';
import { standaloneJson } from '../../data/standalone-value';
import { ValueEncodingError } from '../../data/value-encoder';
import { errorToWire } from '../error-wire';
import type { HostLoad, RemoteFrame } from '../remote-wire';

/** `value` as standalone JSON for the broker; a value that cannot go is the tool's SerializationError. */
export function valueText(value: unknown, tool: string, root: string): string {
  try {
    return standaloneJson(value, root);
  } catch (error) {
    if (error instanceof ValueEncodingError) throw new SerializationError('result', tool, error.message, error.path);
    throw error;
  }
}

export function errorFrame(hostId: string, error: unknown, load?: HostLoad): RemoteFrame {
  return { kind: 'error', hostId, error: errorToWire(error), load };
}
