import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Duplex, Readable } from 'node:stream';
import { WorkerTemplateError, type WorkerExit } from '../errors';
import { ForkedProcess } from './forked-process';
import { OutputTail } from './output-tail';
import { signalGroup, terminate } from './process-killer';
import { pythonEnvironment, serverArguments, type PythonProcessSpec } from './python-process';
import type { AttachServer } from './template-attach';

/** What a pool's template is started with: a worker's interpreter, adapter and environment. */
export type TemplateSpec = Pick<
  PythonProcessSpec,
  'runId' | 'executable' | 'pythonDescription' | 'adapter' | 'pythonPath' | 'env' | 'bridgeVersion' | 'startupTimeoutMs' | 'onOutput'
> & { pool: string };

/** The control channel's file descriptor in the template (a socket: both ways). */
const CONTROL_FD = 3;

type ControlEvent =
  | { event: 'ready'; pid: number }
  | { event: 'failed'; type: string; message: string }
  | { event: 'forked'; id: string; pid: number }
  | { event: 'fork_failed'; id: string; message: string }
  | { event: 'exited'; pid: number; code: number | null; signal: NodeJS.Signals | null };

/** The template's command line, which the workers forked from it show too (with the run id). */
export function templateCommand(spec: TemplateSpec): string[] {
  return [
    spec.executable, '-u', '-m', 'snakepit_bridge.template',
    '--adapter', spec.adapter, '--run-id', spec.runId, '--pool', spec.pool,
    '--control-fd', String(CONTROL_FD), '--bridge-version', spec.bridgeVersion,
  ];
}

/**
 * One pool's template process (`python -m snakepit_bridge.template`): it has imported the bridge
 * and the adapter's module, and forks a worker on each `fork()`. It is the parent of the workers
 * it forked, and reports their exits; a worker outlives it (see ForkedProcess). It leads a
 * process group of its own, and exits by itself when the host dies.
 */
export class WorkerTemplate {
  /** Resolves once it can fork; rejects with WorkerTemplateError. */
  readonly ready: Promise<void>;
  readonly exited: Promise<WorkerExit>;
  readonly command: string[];
  private readonly child: ChildProcess;
  private readonly control?: Duplex;
  private readonly output: OutputTail;
  private readonly byId = new Map<string, ForkedProcess>();
  private readonly byPid = new Map<number, ForkedProcess>();
  private serving = false;
  private gone = false;

  constructor(spec: TemplateSpec, private readonly attach: AttachServer) {
    this.command = templateCommand(spec);
    this.output = new OutputTail(50, spec.onOutput);
    const [executable, ...args] = this.command;
    const env = pythonEnvironment(spec);
    delete env.SNAKEPIT_WORKER_ID; // it is no worker: a marked kill of one must not find it, nor its forks
    let settleReady!: { resolve: () => void; reject: (error: Error) => void };
    this.ready = new Promise((resolve, reject) => (settleReady = { resolve, reject }));
    this.ready.catch(() => undefined);
    const fail = (reason: string, pythonType?: string) => settleReady.reject(new WorkerTemplateError(spec.pool, `${reason} [Python: ${spec.pythonDescription}]`, this.output.snapshot(), pythonType));
    const timer = setTimeout(() => {
      fail(`was not ready after ${spec.startupTimeoutMs} ms (startupTimeoutMs)`);
      this.kill();
    }, spec.startupTimeoutMs);
    void this.ready.then(() => clearTimeout(timer), () => clearTimeout(timer));
    try {
      this.child = spawn(executable, args, { env, stdio: ['pipe', 'pipe', 'pipe', 'pipe'], detached: true });
    } catch (error) {
      this.child = undefined as unknown as ChildProcess;
      fail(`could not be started: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      this.exited = Promise.resolve({ exitCode: null, signal: null });
      this.gone = true;
      return;
    }
    const [, stdout, stderr, control] = (this.child.stdio ?? []) as unknown as [unknown, Readable | null, Readable | null, Duplex | null];
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (exitCode, signal) => {
        // Let its last lines arrive first, so that a failed start says why.
        setImmediate(() => {
          fail(`exited (${signal ? `killed by ${signal}` : `code ${exitCode}`}) before it was ready`);
          this.onExit();
          resolve({ exitCode, signal });
        });
      });
      this.child.once('error', (error) => {
        if (this.child.pid !== undefined) return;
        fail(`could not be started: ${error.message}`);
        this.onExit();
        resolve({ exitCode: null, signal: null });
      });
    });
    if (!stdout || !stderr || !control) return;
    this.output.follow(stdout, 'stdout');
    this.output.follow(stderr, 'stderr');
    this.control = control;
    control.on('error', () => undefined);
    const lines = new OutputTail(0, (line) => {
      const event = parse(line);
      if (!event) return;
      if (event.event === 'ready') {
        this.serving = true;
        settleReady.resolve();
      } else if (event.event === 'failed') fail(`could not load the adapter: ${event.type}: ${event.message}`, event.type);
      else this.onControl(event);
    });
    lines.follow(control, 'control');
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Ready to fork, and not gone. */
  get canFork(): boolean {
    return this.serving && !this.gone;
  }

  get lastOutput(): string[] {
    return this.output.snapshot();
  }

  /** Asks for one worker; its pid, handshake and exit come as the template and the worker report them. */
  fork(spec: PythonProcessSpec): ForkedProcess {
    const token = randomBytes(16).toString('hex');
    const forked: ForkedProcess = new ForkedProcess(spec, this.attach.expect(token, (stream, socket) => forked.attached(stream, socket)));
    if (!this.canFork || !this.control) {
      forked.notForked('the pool\'s template is not running');
      return forked;
    }
    this.byId.set(spec.workerId, forked);
    const request = { op: 'fork', id: spec.workerId, token, attach: this.attach.path, args: serverArguments(spec) };
    this.control.write(`${JSON.stringify(request)}\n`);
    return forked;
  }

  /** SIGTERM, then SIGKILL after `killTimeoutMs`. The workers it forked are not touched. */
  async stop(killTimeoutMs: number): Promise<void> {
    if (!this.child || this.gone) return;
    await terminate(this.child, killTimeoutMs);
    await this.exited;
  }

  kill(): void {
    if (this.child) signalGroup(this.child, 'SIGKILL');
  }

  private onControl(event: ControlEvent): void {
    if (event.event === 'forked') {
      const forked = this.byId.get(event.id);
      this.byId.delete(event.id);
      if (!forked) return;
      this.byPid.set(event.pid, forked);
      forked.forked(event.pid);
    } else if (event.event === 'fork_failed') {
      this.byId.get(event.id)?.notForked(`the template could not fork it: ${event.message}`);
      this.byId.delete(event.id);
    } else if (event.event === 'exited') {
      const forked = this.byPid.get(event.pid);
      this.byPid.delete(event.pid);
      forked?.exitedWith({ exitCode: event.code, signal: event.signal });
    }
  }

  /** Its workers outlive it: from now they are watched by pid. */
  private onExit(): void {
    if (this.gone) return;
    this.gone = true;
    this.serving = false;
    for (const forked of [...this.byId.values(), ...this.byPid.values()]) forked.orphaned();
    this.byId.clear();
    this.byPid.clear();
  }
}

function parse(line: string): ControlEvent | undefined {
  try {
    const event = JSON.parse(line);
    return typeof event?.event === 'string' ? event : undefined;
  } catch {
    return undefined;
  }
}
