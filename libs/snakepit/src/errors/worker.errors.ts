import { SnakepitError } from './snakepit.error';

const LAST_OUTPUT_HEADER = '\nLast output:\n';

/** A message with the worker's last lines of output after it, for the logs. */
function withLastOutput(message: string, lastOutput: string[]): string {
  return lastOutput.length ? `${message}${LAST_OUTPUT_HEADER}${lastOutput.join('\n')}` : message;
}

/** An error's message without the worker output appended to it: what a client of the app may see. */
export function messageWithoutOutput(error: Error): string {
  const at = error.message.indexOf(LAST_OUTPUT_HEADER);
  return at < 0 ? error.message : error.message.slice(0, at);
}

/** How a worker process ended. */
export interface WorkerExit {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

export function describeExit(exit: WorkerExit): string {
  if (exit.signal) return `killed by ${exit.signal}`;
  // A forked worker that outlived its template: nobody was left to read its exit status.
  if (exit.exitCode === null) return 'exited (its exit status is unknown)';
  return `exited with code ${exit.exitCode}`;
}

/**
 * What kind of death it was: `segfault` (SIGSEGV, SIGBUS), `abort` (SIGABRT, e.g. a failed C
 * assertion), `killed` (SIGKILL: the kernel's OOM killer, or someone's kill -9) or `other`.
 * Exit codes 128+N, as a shell wrapper reports a signal, count as that signal.
 */
export type CrashClassification = 'segfault' | 'abort' | 'killed' | 'other';

const SIGNAL_CLASSES: Record<string, CrashClassification> = {
  SIGSEGV: 'segfault',
  SIGBUS: 'segfault',
  SIGABRT: 'abort',
  SIGKILL: 'killed',
};
const SHELL_SIGNAL_CODES: Record<number, string> = { 139: 'SIGSEGV', 135: 'SIGBUS', 134: 'SIGABRT', 137: 'SIGKILL' };

export function classifyExit(exit: WorkerExit): CrashClassification {
  const signal = exit.signal ?? (exit.exitCode !== null ? SHELL_SIGNAL_CODES[exit.exitCode] : undefined);
  return (signal && SIGNAL_CLASSES[signal]) || 'other';
}

const CLASSIFICATION_HINTS: Record<CrashClassification, string> = {
  segfault: ' It was a segmentation fault: a native extension crashed.',
  abort: ' It aborted: a native library failed an assertion or called abort().',
  killed: ' It was SIGKILLed: the kernel\'s OOM killer (check memory, or set memoryLimitMb) or someone\'s kill -9.',
  other: '',
};

/** The Python process running the call died before answering. */
export class WorkerCrashError extends SnakepitError {
  readonly code = 'worker_crashed';
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly classification: CrashClassification;

  constructor(
    readonly workerId: string,
    readonly pid: number | undefined,
    exit: WorkerExit,
    readonly tool?: string,
    readonly lastOutput: string[] = [],
  ) {
    const classification = classifyExit(exit);
    super(
      withLastOutput(
        `Python worker ${workerId} (pid ${pid ?? '?'}) ${describeExit(exit)}` +
          (tool ? ` while running "${tool}"` : '') +
          `.${CLASSIFICATION_HINTS[classification]} The pool replaces it; retry the call if it is safe to run twice ` +
          '(execute(..., { idempotent: true }) does that for you).',
        lastOutput,
      ),
    );
    this.exitCode = exit.exitCode;
    this.signal = exit.signal;
    this.classification = classification;
  }

  override toJSON(): Record<string, unknown> {
    return {
      ...super.toJSON(),
      workerId: this.workerId,
      exitCode: this.exitCode,
      signal: this.signal,
      classification: this.classification,
    };
  }
}

/** The worker stopped answering heartbeats (a tool holding the GIL, a stopped or wedged
 *  process), so the pool killed it. Calls it held fail with this error. */
export class WorkerUnresponsiveError extends SnakepitError {
  readonly code = 'worker_unresponsive';
  constructor(
    readonly workerId: string,
    readonly pid: number | undefined,
    readonly missedHeartbeats: number,
    readonly tool?: string,
  ) {
    super(
      `Python worker ${workerId} (pid ${pid ?? '?'}) stopped answering heartbeats (${missedHeartbeats} missed)` +
        (tool ? ` while running "${tool}"` : '') +
        ', so it was killed and replaced. A tool that holds the GIL for long (a C call that never releases it) ' +
        'starves the worker; release the GIL, split the work, or raise heartbeat.timeoutMs.',
    );
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), workerId: this.workerId, missedHeartbeats: this.missedHeartbeats };
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
    super(withLastOutput(workerId ? `Python worker ${workerId} failed to start: ${reason}` : reason, lastOutput));
  }

  /** The pool's workers could not start for a reason of the host's (its bridge did not
   *  listen, say): there is no worker to name (`workerId` is empty). */
  static ofPool(pool: string, reason: string): WorkerStartError {
    return new WorkerStartError('', `The workers of pool "${pool}" could not start: ${reason}`);
  }
}

/** The worker answered in a way the host cannot understand, or the channel broke while it stayed alive. */
export class WorkerProtocolError extends SnakepitError {
  readonly code = 'worker_protocol_error';
  constructor(readonly workerId: string, detail: string, options?: { cause?: unknown }) {
    super(`Python worker ${workerId}: ${detail}. The worker is replaced.`, options);
  }
}

/** The worker died under the call: by itself, or killed for missing its heartbeats. */
export function isWorkerDeath(error: unknown): error is WorkerCrashError | WorkerUnresponsiveError {
  return error instanceof WorkerCrashError || error instanceof WorkerUnresponsiveError;
}

/** A pool's template process (workers.start: 'fork') could not start or serve. The pool spawns
 *  its workers instead, and says so in its log: callers never see this error. */
export class WorkerTemplateError extends SnakepitError {
  readonly code = 'worker_template_failed';

  constructor(
    readonly pool: string,
    reason: string,
    readonly lastOutput: string[] = [],
    readonly pythonType?: string,
  ) {
    super(withLastOutput(`the worker template of pool "${pool}" ${reason}`, lastOutput));
  }
}
