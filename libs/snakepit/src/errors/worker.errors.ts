import { SnakepitError } from './snakepit.error';

/** How a worker process ended. */
export interface WorkerExit {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

export function describeExit(exit: WorkerExit): string {
  if (exit.signal) return `killed by ${exit.signal}`;
  return `exited with code ${exit.exitCode}`;
}

/** The Python process running the call died before answering. */
export class WorkerCrashError extends SnakepitError {
  readonly code = 'worker_crashed';
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;

  constructor(
    readonly workerId: string,
    readonly pid: number | undefined,
    exit: WorkerExit,
    readonly tool?: string,
    readonly lastOutput: string[] = [],
  ) {
    super(
      `Python worker ${workerId} (pid ${pid ?? '?'}) ${describeExit(exit)}` +
        (tool ? ` while running "${tool}"` : '') +
        '. The pool replaces it; retry the call if it is safe to run twice.' +
        (lastOutput.length ? `\nLast output:\n${lastOutput.join('\n')}` : ''),
    );
    this.exitCode = exit.exitCode;
    this.signal = exit.signal;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), workerId: this.workerId, exitCode: this.exitCode, signal: this.signal };
  }
}

/** A worker could not start: bad interpreter, adapter that fails to import, or no readiness in time. */
export class WorkerStartError extends SnakepitError {
  readonly code = 'worker_start_failed';
  constructor(
    readonly workerId: string,
    readonly reason: string,
    readonly lastOutput: string[] = [],
    readonly pythonType?: string,
  ) {
    super(
      `Python worker ${workerId} failed to start: ${reason}` +
        (lastOutput.length ? `\nLast output:\n${lastOutput.join('\n')}` : ''),
    );
  }
}

/** The worker answered in a way the host cannot understand, or the channel broke while it stayed alive. */
export class WorkerProtocolError extends SnakepitError {
  readonly code = 'worker_protocol_error';
  constructor(readonly workerId: string, detail: string, options?: { cause?: unknown }) {
    super(`Python worker ${workerId}: ${detail}. The worker is replaced.`, options);
  }
}
