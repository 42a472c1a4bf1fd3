import { SnakepitError } from './snakepit.error';

/** Host tool names: a letter, then letters, digits, "_", "." or "-", 64 characters at most. */
export const HOST_TOOL_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/** The name is not a valid host tool name. */
export class InvalidHostToolNameError extends SnakepitError {
  readonly code = 'host_tool_invalid_name';
  constructor(readonly tool: string) {
    super(
      `"${tool}" is not a valid host tool name: start with a letter, then letters, digits, "_", "." or "-", 64 characters at most.`,
    );
  }
}

/** Another host tool has this name. */
export class HostToolExistsError extends SnakepitError {
  readonly code = 'host_tool_exists';
  constructor(readonly tool: string) {
    super(`A host tool named "${tool}" is registered already. Give one of them another name ({ name }).`);
  }
}

/** No host tool has this name. */
export class HostToolNotFoundError extends SnakepitError {
  readonly code = 'host_tool_not_found';
  constructor(readonly tool: string, readonly available: string[]) {
    super(`No host tool named "${tool}". Host tools: ${available.join(', ') || '(none)'}.`);
  }
}

/** The arguments failed the tool's declared parameters (its DTO class). */
export class HostToolValidationError extends SnakepitError {
  readonly code = 'host_tool_validation_failed';
  constructor(readonly tool: string, readonly problems: string[]) {
    super(`Invalid arguments for host tool "${tool}": ${problems.join('; ')}.`);
  }
}

/** The host tool's handler threw. `cause` is what it threw. */
export class HostToolFailedError extends SnakepitError {
  readonly code = 'host_tool_failed';
  constructor(readonly tool: string, cause: unknown) {
    super(`Host tool "${tool}" failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}
