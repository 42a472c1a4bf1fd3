import { SnakepitError } from './snakepit.error';

/** A value could not be turned into JSON (arguments before sending, or a tool's result). */
export class SerializationError extends SnakepitError {
  readonly code = 'serialization_failed';
  constructor(readonly direction: 'arguments' | 'result', readonly tool: string, detail: string) {
    super(
      direction === 'arguments'
        ? `Arguments for "${tool}" cannot be sent as JSON: ${detail}. Pass plain objects, arrays, strings, finite numbers, booleans and null.`
        : `The result of "${tool}" cannot be sent back as JSON: ${detail}. Return JSON values or bytes.`,
    );
  }
}

/** A message is larger than maxMessageBytes allows. */
export class PayloadTooLargeError extends SnakepitError {
  readonly code = 'payload_too_large';
  constructor(readonly direction: 'arguments' | 'result', readonly tool: string, detail: string) {
    super(
      `The ${direction} of "${tool}" ${direction === 'result' ? 'is' : 'are'} too large (${detail}). ` +
        'Raise maxMessageBytes, or send the data in smaller pieces.',
    );
  }
}
