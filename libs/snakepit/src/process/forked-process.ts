import type { Socket } from 'node:net';
import { WorkerStartError, type WorkerExit } from '../errors';
import { OutputTail } from './output-tail';
import { isRunning, processStartTime } from './process-info';
import { parseReadyLine, type PythonProcessSpec, type ReadyMessage } from './python-process';
import type { AttachedStream } from './template-attach';
import { terminateProcess, type WorkerProcess } from './worker-process';

/** How often a worker whose template is gone is checked for life. */
const ORPHAN_POLL_MS = 100;
/** After the exit, how long its output connections may take to drain. */
const OUTPUT_DRAIN_MS = 1000;

/**
 * A worker forked from its pool's template. The template reports its pid and, as its parent,
 * its exit status; the worker's stdin (its secrets, its handshake, its lifeline), stdout and
 * stderr are connections it made to the host's attach socket. A worker outlives its template:
 * then its exit is noticed by watching its pid (with its start time), its status unknown.
 */
export class ForkedProcess implements WorkerProcess {
  readonly output: OutputTail;
  readonly ready: Promise<ReadyMessage>;
  readonly exited: Promise<WorkerExit>;
  readonly pidKnown: Promise<number | undefined>;
  readonly outputClosed: Promise<void>;
  private knownPid?: number;
  private startTime?: string;
  private exit?: WorkerExit;
  private pendingSignal?: NodeJS.Signals;
  private readonly streams: Partial<Record<AttachedStream, Socket>> = {};
  private readonly settle: {
    pid: (pid: number | undefined) => void;
    exit: (exit: WorkerExit) => void;
    ready: (message: ReadyMessage) => void;
    fail: (error: WorkerStartError) => void;
    output: () => void;
  };
  private outputsOpen = 2;
  private readyTimer?: NodeJS.Timeout;
  private orphanTimer?: NodeJS.Timeout;
  private handshakeDone = false;
  /** Ready, or failed to start: the start is decided. */
  private startSettled = false;

  constructor(
    private readonly spec: PythonProcessSpec,
    /** The template stops routing this worker's connections to it. */
    private readonly stopExpecting: () => void,
  ) {
    this.output = new OutputTail(100, spec.onOutput);
    const settle = {} as ForkedProcess['settle'];
    this.pidKnown = new Promise((resolve) => (settle.pid = resolve));
    this.exited = new Promise((resolve) => (settle.exit = resolve));
    this.outputClosed = new Promise((resolve) => (settle.output = resolve));
    this.ready = new Promise((resolve, reject) => {
      settle.ready = resolve;
      settle.fail = reject;
    });
    this.ready.catch(() => undefined);
    this.settle = settle;
    this.readyTimer = setTimeout(() => {
      const reason = `not ready after ${spec.startupTimeoutMs} ms (startupTimeoutMs)`;
      // A fork its template never reported has no process to wait for: it is over.
      if (this.knownPid === undefined) this.notForked(`${reason}: its template never reported the fork`);
      else this.failStart(reason);
    }, spec.startupTimeoutMs);
  }

  get pid(): number | undefined {
    return this.knownPid;
  }

  // ── what the template reports ─────────────────────────────────────────

  /** The template forked it. */
  forked(pid: number): void {
    if (this.exit || this.knownPid !== undefined) return;
    this.knownPid = pid;
    this.startTime = processStartTime(pid);
    this.settle.pid(pid);
    if (this.pendingSignal) this.signal(this.pendingSignal);
  }

  /** The template could not fork it (EAGAIN, ENOMEM, …), or died before it said. */
  notForked(reason: string): void {
    this.failStart(reason);
    this.finish({ exitCode: null, signal: null });
  }

  /** The template reaped it. */
  exitedWith(exit: WorkerExit): void {
    this.finish(exit);
  }

  /** Its template is gone: watch its pid from now. */
  orphaned(): void {
    if (this.exit) return;
    if (this.knownPid === undefined) return this.notForked('its template exited before it forked the worker');
    const check = () => {
      if (!this.alive()) return this.finish({ exitCode: null, signal: null });
      this.orphanTimer = setTimeout(check, ORPHAN_POLL_MS);
    };
    check();
  }

  /** One of its connections to the attach socket. */
  attached(stream: AttachedStream, socket: Socket): void {
    if (this.exit) return void socket.destroy();
    this.streams[stream] = socket;
    if (stream === 'control') return this.handshake(socket);
    socket.once('close', () => this.outputEnded());
    this.output.follow(socket, stream);
    socket.resume();
  }

  // ── what the Worker asks ──────────────────────────────────────────────

  signal(signal: NodeJS.Signals): void {
    if (this.exit) return;
    if (this.knownPid === undefined) {
      if (signal === 'SIGKILL' || !this.pendingSignal) this.pendingSignal = signal;
      return;
    }
    if (this.orphanTimer !== undefined && !this.alive()) return; // its pid may be another's by now
    try {
      process.kill(-this.knownPid, signal);
    } catch {
      try {
        process.kill(this.knownPid, signal);
      } catch {
        /* gone already */
      }
    }
  }

  terminate(killTimeoutMs: number): Promise<void> {
    return terminateProcess(this, killTimeoutMs);
  }

  // ── its own life ──────────────────────────────────────────────────────

  /** Sends the secrets, then reads the handshake line; the connection stays open as its lifeline. */
  private handshake(socket: Socket): void {
    socket.write(`${JSON.stringify(this.spec.secrets)}\n`);
    const lines = new OutputTail(1, (line) => {
      if (this.handshakeDone) return;
      this.handshakeDone = true;
      const message = parseReadyLine(line);
      if (!message) return this.failStart(`it sent an unreadable handshake: ${line.slice(0, 200)}`);
      if (message.event === 'failed') return this.failStart(`${message.type}: ${message.message}`, message.type);
      if (this.startSettled) return;
      this.startSettled = true;
      clearTimeout(this.readyTimer);
      this.settle.ready({ address: message.address, pid: message.pid, protocol: message.protocol });
    });
    lines.follow(socket, 'ready');
    socket.resume();
  }

  private failStart(reason: string, pythonType?: string): void {
    if (this.startSettled) return;
    this.startSettled = true;
    clearTimeout(this.readyTimer);
    this.settle.fail(new WorkerStartError(this.spec.workerId, `${reason} [Python: ${this.spec.pythonDescription}, forked from the pool's template]`, this.output.snapshot(), pythonType));
  }

  private finish(exit: WorkerExit): void {
    if (this.exit) return;
    this.exit = exit;
    clearTimeout(this.orphanTimer);
    this.stopExpecting();
    this.settle.pid(this.knownPid);
    const how = exit.signal ? `was killed by ${exit.signal}` : exit.exitCode === null ? 'exited' : `exited with code ${exit.exitCode}`;
    // Let its output drain first, so that the start error carries Python's last words.
    setImmediate(() => this.failStart(`the process ${how} before it was ready`));
    this.streams.control?.destroy();
    const drain = setTimeout(() => {
      this.streams.stdout?.destroy();
      this.streams.stderr?.destroy();
      this.settle.output();
    }, OUTPUT_DRAIN_MS);
    drain.unref();
    if (!this.streams.stdout) this.outputEnded();
    if (!this.streams.stderr) this.outputEnded();
    this.settle.exit(exit);
  }

  private outputEnded(): void {
    if (--this.outputsOpen <= 0) this.settle.output();
  }

  private alive(): boolean {
    return this.knownPid !== undefined && isRunning(this.knownPid) && processStartTime(this.knownPid) === this.startTime;
  }
}
