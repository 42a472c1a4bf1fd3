import type { WorkerExit } from '../errors';
import type { OutputTail } from './output-tail';
import type { PythonProcessSpec, ReadyMessage } from './python-process';

/**
 * The host's view of one worker process, however it was started (spawned by the host, or
 * forked from the pool's template): the Worker drives both the same way.
 */
export interface WorkerProcess {
  /** Undefined until it is known (a fork answers later), and for a process that never started. */
  readonly pid: number | undefined;
  /** Resolves with the pid once known, or undefined if the process never started. Settles
   *  before `exited` does. */
  readonly pidKnown: Promise<number | undefined>;
  /** Its last lines of stdout and stderr. */
  readonly output: OutputTail;
  /** Resolves with its address once it serves; rejects with WorkerStartError. */
  readonly ready: Promise<ReadyMessage>;
  /** Resolves when its stdout and stderr have both ended. */
  readonly outputClosed: Promise<void>;
  /** Resolves once it has exited, with how (a process that never started: both null). */
  readonly exited: Promise<WorkerExit>;
  /** Signals its process group (a worker leads one), or it alone if that fails. A signal sent
   *  before the pid is known is delivered as soon as it is. Nothing once it has exited. */
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL if it is still there after `killTimeoutMs`; resolves once it exited. */
  terminate(killTimeoutMs: number): Promise<void>;
}

/** How a pool starts its worker processes. */
export interface WorkerLauncher {
  /** `fork` while a template serves, `spawn` otherwise. */
  readonly mode: 'fork' | 'spawn';
  /** The command line the process started for `spec` will show (for the process registry). */
  command(spec: PythonProcessSpec): string[];
  launch(spec: PythonProcessSpec): WorkerProcess;
  /** At the pool's start, before its workers launch (a template starts). Never rejects. */
  prepare(): Promise<void>;
  /** At the pool's stop, once its workers have exited (a template stops). */
  stop(killTimeoutMs: number): Promise<void>;
}

/** SIGTERM, then SIGKILL after `killTimeoutMs` unless it exited first. */
export async function terminateProcess(process: WorkerProcess, killTimeoutMs: number): Promise<void> {
  process.signal('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = await Promise.race([
    process.exited.then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), killTimeoutMs))),
  ]);
  clearTimeout(timer);
  if (late) {
    process.signal('SIGKILL');
    await process.exited;
  }
}
