/**
 * The root of every error this library throws. `code` is stable across releases:
 * match on it (or on the class), never on the message.
 */
export abstract class SnakepitError extends Error {
  abstract readonly code: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }

  /** A plain, loggable view: the code, the message and the error's own facts. */
  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message };
  }
}
