import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { delimiter } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { WorkerStartError } from '../errors';
import { OutputTail } from './output-tail';

/** Everything needed to start one Python worker process. */
export interface PythonProcessSpec {
  workerId: string;
  runId: string;
  executable: string;
  /** The interpreter's full path and how it was chosen, for start errors. */
  pythonDescription: string;
  adapter: string;
  /** Directories for PYTHONPATH, in order. */
  pythonPath: string[];
  env: Record<string, string>;
  maxMessageBytes: number;
  startupTimeoutMs: number;
  /** Calls it may run at once (above 1: the thread profile). */
  concurrentCalls: number;
  /** The snakepit_bridge version the host expects; the worker refuses to start with another. */
  bridgeVersion: string;
  /** After SIGTERM, how long Python lets running calls finish before it runs on_stop. */
  shutdownGraceMs: number;
  /** Where it listens: a Unix socket path, or (undefined) loopback TCP on an OS-chosen port. */
  socketPath?: string;
  /** Handed over on a pipe, never in its environment or on its command line. */
  secrets: WorkerSecrets;
  /** Where its large buffers go: the run's shared-memory directory, the prefix of the segments
   *  it makes, and the size from which a buffer leaves the message; undefined: none. */
  sharedMemory?: { dir: string; prefix: string; thresholdBytes: number };
  onOutput?: (line: string, stream: string) => void;
}

/** The host's address and secret, for the worker to call back, and the worker's own secret,
 *  which every call from the host carries. */
export interface WorkerSecrets {
  hostAddress: string;
  hostSecret: string;
  workerSecret: string;
}

export interface ReadyMessage {
  address: string;
  pid: number;
  protocol: number;
}

/** File descriptor on which the worker announces readiness (one JSON line). */
const READY_FD = 3;
/** File descriptor from which the worker reads its secrets (one JSON object, then EOF). */
const SECRETS_FD = 4;

export interface PythonProcess {
  child: ChildProcess;
  output: OutputTail;
  /** Resolves with the worker's address once it serves; rejects with WorkerStartError. */
  ready: Promise<ReadyMessage>;
  /** Resolves when stdout and stderr have both ended. */
  outputClosed: Promise<void>;
}

/** The worker's command line: the interpreter, then its arguments (the run id among them). */
export function pythonCommand(spec: PythonProcessSpec): string[] {
  return [
    spec.executable,
    '-u',
    '-m',
    'snakepit_bridge.server',
    '--adapter',
    spec.adapter,
    '--run-id',
    spec.runId,
    '--worker-id',
    spec.workerId,
    '--ready-fd',
    String(READY_FD),
    '--max-message-bytes',
    String(spec.maxMessageBytes),
    '--bridge-version',
    spec.bridgeVersion,
    '--shutdown-grace-ms',
    String(spec.shutdownGraceMs),
    '--secrets-fd',
    String(SECRETS_FD),
    ...(spec.socketPath ? ['--socket', spec.socketPath] : []),
    ...(spec.concurrentCalls > 1 ? ['--concurrent-calls', String(spec.concurrentCalls)] : []),
    ...(spec.sharedMemory
      ? ['--shm-dir', spec.sharedMemory.dir, '--shm-prefix', spec.sharedMemory.prefix, '--shm-threshold', String(spec.sharedMemory.thresholdBytes)]
      : []),
  ];
}

/** The server's own arguments, without the file descriptors of a spawned worker: what a worker
 *  forked from a template is given (its handshake and secrets come another way). */
export function serverArguments(spec: PythonProcessSpec): string[] {
  const args = pythonCommand(spec).slice(4);
  for (const flag of ['--ready-fd', '--secrets-fd']) args.splice(args.indexOf(flag), 2);
  return args;
}

/** The environment of a Python process of the pool: the host's, the pool's `env`, PYTHONPATH,
 *  the run's marker and `markers`; never a secret of the host's own environment. */
export function pythonEnvironment(
  spec: Pick<PythonProcessSpec, 'env' | 'pythonPath' | 'runId'>,
  markers: Record<string, string> = {},
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...spec.env,
    PYTHONPATH: [...spec.pythonPath, spec.env.PYTHONPATH, process.env.PYTHONPATH].filter(Boolean).join(delimiter),
    PYTHONUNBUFFERED: '1',
    ...markers,
    SNAKEPIT_RUN_ID: spec.runId,
  };
  // Secrets of the host's own environment never reach Python either.
  delete env.SNAKEPIT_HOST_SECRET;
  delete env.SNAKEPIT_WORKER_SECRET;
  return env;
}

/**
 * Starts `python -m snakepit_bridge.server` in its own process group. Its stdin is a pipe the
 * host never writes to: when the host dies, even by SIGKILL, the worker sees EOF and exits.
 */
export function startPythonProcess(spec: PythonProcessSpec): PythonProcess {
  const [executable, ...args] = pythonCommand(spec);
  const env = pythonEnvironment(spec, { SNAKEPIT_WORKER_ID: spec.workerId });
  const output = new OutputTail(100, spec.onOutput);
  let child: ChildProcess;
  try {
    child = spawn(executable, args, { env, stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'], detached: true });
  } catch (error) {
    return notStarted(spec, output, error as NodeJS.ErrnoException);
  }
  // When the spawn fails (EMFILE, EAGAIN, …) Node leaves `stdio` undefined.
  const [, stdout, stderr, readyPipe, secrets] = (child.stdio ?? []) as [unknown, Readable | null, Readable | null, Readable | null, Writable | null];
  if (!stdout || !stderr || !readyPipe || !secrets) {
    // The spawn failed: 'error' follows, and no 'exit'.
    return { child, output, ready: rejectedStart(spec, output, 'its pipes could not be created (the process is out of file descriptors?)'), outputClosed: Promise.resolve() };
  }
  secrets.on('error', () => undefined); // the worker died before reading: its exit says why
  secrets.end(JSON.stringify(spec.secrets));
  output.follow(stdout, 'stdout');
  output.follow(stderr, 'stderr');
  const ready = awaitReady(child, spec, output);
  ready.catch(() => undefined);
  const outputClosed = Promise.all([ended(stdout), ended(stderr)]).then(() => undefined);
  return { child, output, ready, outputClosed };
}

/** The process could not be started at all: a stand-in that reports it as a failed start (and
 *  as an 'error' with no pid, as a failed spawn does), so the pool counts it and goes on. */
function notStarted(spec: PythonProcessSpec, output: OutputTail, error: NodeJS.ErrnoException): PythonProcess {
  const child = new EventEmitter() as unknown as ChildProcess;
  Object.assign(child, { pid: undefined, exitCode: null, signalCode: null, stdio: [], kill: () => false });
  setImmediate(() => child.emit('error', error));
  return { child, output, ready: rejectedStart(spec, output, `could not start "${spec.executable}": ${error.code ?? error.message}`), outputClosed: Promise.resolve() };
}

function rejectedStart(spec: PythonProcessSpec, output: OutputTail, reason: string): Promise<ReadyMessage> {
  const ready = Promise.reject(new WorkerStartError(spec.workerId, `${reason} [Python: ${spec.pythonDescription}]`, output.snapshot()));
  ready.catch(() => undefined);
  return ready;
}

function ended(stream: Readable): Promise<void> {
  return stream.readableEnded ? Promise.resolve() : new Promise((resolve) => stream.once('close', () => resolve()));
}

function awaitReady(child: ChildProcess, spec: PythonProcessSpec, output: OutputTail): Promise<ReadyMessage> {
  return new Promise((resolve, reject) => {
    const fail = (reason: string, pythonType?: string) => {
      cleanup();
      reject(new WorkerStartError(spec.workerId, `${reason} [Python: ${spec.pythonDescription}]`, output.snapshot(), pythonType));
    };
    const timer = setTimeout(
      () => fail(`not ready after ${spec.startupTimeoutMs} ms (startupTimeoutMs)`),
      spec.startupTimeoutMs,
    );
    const onError = (error: NodeJS.ErrnoException) =>
      fail(
        error.code === 'ENOENT'
          ? `Python interpreter "${spec.executable}" was not found. Run "npx snakepit setup" in the project, or set pythonExecutable or SNAKEPIT_PYTHON to a Python 3.9+ with grpcio and protobuf.`
          : `could not run "${spec.executable}": ${error.message}`,
      );
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      // Let the stdout/stderr pipes flush so the error carries Python's last words.
      setImmediate(() => fail(`the process ${signal ? `was killed by ${signal}` : `exited with code ${code}`} before it was ready`));
    const lines = new OutputTail(1, (line) => {
      const message = parseReadyLine(line);
      if (!message) return fail(`it sent an unreadable handshake: ${line.slice(0, 200)}`);
      if (message.event === 'ready') {
        cleanup();
        resolve({ address: message.address, pid: message.pid, protocol: message.protocol });
      } else {
        fail(`${message.type}: ${message.message}`, message.type);
      }
    });
    lines.follow(child.stdio[READY_FD] as Readable, 'ready');
    child.once('error', onError);
    child.once('exit', onExit);
    function cleanup() {
      clearTimeout(timer);
      child.off('error', onError);
      child.off('exit', onExit);
    }
  });
}

export type HandshakeLine =
  | { event: 'ready'; address: string; pid: number; protocol: number }
  | { event: 'failed'; type: string; message: string; traceback?: string };

export function parseReadyLine(line: string): HandshakeLine | undefined {
  try {
    const parsed = JSON.parse(line);
    if (parsed?.event === 'ready' && typeof parsed.address === 'string') return parsed;
    if (parsed?.event === 'failed' && typeof parsed.type === 'string') return parsed;
  } catch {
    /* fall through */
  }
  return undefined;
}
