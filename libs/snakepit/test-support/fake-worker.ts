import { EventEmitter } from 'node:events';
import type { WireExecuteReply, WireExecuteRequest, WireStreamChunk } from '../src/bridge/wire';
import { WorkerCrashError, WorkerProtocolError, WorkerStartError, WorkerUnresponsiveError, type SnakepitError, type WorkerExit } from '../src/errors';
import { resolveOptions, type PoolConfig } from '../src/options/resolve-options';
import type { SnakepitModuleOptions } from '../src/options/snakepit-options.interface';
import type { FleetContext } from '../src/pool/worker-fleet';
import type { PoolWorker, PythonToolInfo, StopReason, WorkerInfo, WorkerLifeState, WorkerStream } from '../src/pool/worker.types';
import { SessionAffinity } from '../src/session/session-affinity';
import { NO_HOST_ACCESS } from '../src/snakepit.constants';
import { EventBus } from '../src/telemetry/event-bus';

/** The tools every fake worker reports. */
export const FAKE_TOOLS: PythonToolInfo[] = [
  { name: 'add', description: '', supportsStreaming: false, parameters: [] },
  { name: 'sleep', description: '', supportsStreaming: false, parameters: [] },
  { name: 'count', description: '', supportsStreaming: true, parameters: [] },
];

/** A call the fake received and has not answered yet, and how the test answers it. */
export interface FakeCall {
  request: WireExecuteRequest;
  /** Set when the pool sent the call ahead: the test says when the worker starts it. */
  started?: () => void;
  reply(value: unknown): void;
  fail(error: Error): void;
}

/** A streaming call the fake received: the test sends its chunks and ends it. */
export class FakeStream extends EventEmitter implements WorkerStream {
  paused = false;
  private closed = false;
  constructor(readonly request: WireExecuteRequest) {
    super();
  }
  pause(): this {
    this.paused = true;
    return this;
  }
  resume(): this {
    this.paused = false;
    return this;
  }
  send(value: unknown, final = false): void {
    this.emit('data', { payload: 'data', data: { json: Buffer.from(JSON.stringify(value)), buffers: [], tags: 0 }, final, cancelled: false } as WireStreamChunk);
  }
  /** The worker says the stream stopped because of a Cancel (whoever sent it). */
  endCancelled(): void {
    this.emit('data', { payload: undefined, final: true, cancelled: true } as unknown as WireStreamChunk);
    this.close();
  }
  finish(): void {
    this.emit('data', { payload: undefined, final: true } as unknown as WireStreamChunk);
    this.close();
  }
  breakOff(error: Error): void {
    if (this.closed) return;
    this.emit('error', error);
    this.close();
  }
  /** The call is over (as gRPC says once, whatever ended it). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close');
  }
}

/**
 * A worker without a process, for unit tests of the pool and its fleet. It answers what the
 * test tells it to; `crash()` makes it die by itself, `stop`/`kill` end it as the pool asks.
 */
export class FakeWorker implements PoolWorker {
  readonly startedAt = new Date();
  readyAt?: Date;
  readonly tools = FAKE_TOOLS;
  requests = 0;
  /** Calls not answered yet, oldest first. */
  readonly calls: FakeCall[] = [];
  readonly streams: FakeStream[] = [];
  readonly cancelled: string[] = [];
  readonly pid: number;
  get pidKnown(): Promise<number> {
    return Promise.resolve(this.pid);
  }
  readonly exited: Promise<WorkerExit>;
  private life: WorkerLifeState = 'starting';
  private reason?: StopReason;
  private wasRecycled = false;
  private missed = 0;
  private exit?: WorkerExit;
  private markExited!: (exit: WorkerExit) => void;
  private memory?: number;
  private static pids = 1000;

  constructor(readonly id: string, readonly pool: string, private readonly behaviour: FakeBehaviour) {
    this.pid = FakeWorker.pids++;
    this.exited = new Promise((resolve) => (this.markExited = resolve));
  }

  get state(): WorkerLifeState {
    return this.life;
  }
  get serving(): boolean {
    return this.life === 'ready' || this.life === 'recycling';
  }
  /** Set by a test: its channel broke a moment ago, and it has not exited yet. */
  channelBroken = false;

  get reachable(): boolean {
    return this.life !== 'exited' && !this.channelBroken;
  }
  get recycled(): boolean {
    return this.wasRecycled;
  }
  get stopReason(): StopReason | undefined {
    return this.reason;
  }
  get rssBytes(): number | undefined {
    return this.memory;
  }

  async start(): Promise<void> {
    await this.behaviour.startup(this);
    if (this.life !== 'starting') throw new WorkerStartError(this.id, 'it was stopped while starting');
    this.life = 'ready';
    this.readyAt = new Date();
  }

  markRecycling(): boolean {
    if (this.life !== 'ready') return false;
    this.life = 'recycling';
    this.wasRecycled = true;
    return true;
  }

  recordMemory(rssBytes: number): void {
    this.memory = rssBytes;
  }

  /** As a real worker: a broken call comes back as the typed error that explains it. */
  async execute(request: WireExecuteRequest, onStarted?: () => void): Promise<WireExecuteReply> {
    try {
      return await new Promise<WireExecuteReply>((resolve, reject) => {
        const answered = () => this.calls.splice(this.calls.indexOf(call), 1);
        const call: FakeCall = {
          request,
          started: onStarted,
          reply: (value) => {
            answered();
            resolve({ outcome: 'result', result: { json: Buffer.from(JSON.stringify(value)), buffers: [], tags: 0 } });
          },
          fail: (error) => {
            answered();
            reject(error);
          },
        };
        this.calls.push(call);
        this.behaviour.onCall(this, call);
      });
    } catch (error) {
      throw await this.explainFailure(error as Error, request.tool);
    } finally {
      this.requests++;
    }
  }

  openStream(request: WireExecuteRequest): WorkerStream {
    const stream = new FakeStream(request);
    stream.once('close', () => this.requests++);
    this.streams.push(stream);
    return stream;
  }

  cancel(requestId: string): void {
    this.cancelled.push(requestId);
    this.behaviour.onCancel(this, requestId);
  }

  async ping(): Promise<void> {
    if (this.life !== 'ready' && this.life !== 'recycling') throw new Error('not serving');
  }

  async stop(_killTimeoutMs: number, reason: StopReason): Promise<void> {
    this.markStopping(reason);
    this.end({ exitCode: 0, signal: null });
    await this.exited;
  }

  kill(reason: StopReason, facts: { missedHeartbeats?: number } = {}): void {
    this.markStopping(reason);
    this.missed = facts.missedHeartbeats ?? this.missed;
    this.end({ exitCode: null, signal: 'SIGKILL' });
  }

  /** It dies by itself, with this exit. */
  crash(exit: WorkerExit = { exitCode: null, signal: 'SIGSEGV' }): void {
    this.end(exit);
  }

  async explainFailure(error: Error, tool: string): Promise<SnakepitError> {
    const exit = this.exit ?? (await Promise.race([this.exited, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 50))]));
    if (this.reason === 'unresponsive') return new WorkerUnresponsiveError(this.id, this.pid, this.missed, tool);
    if (exit) return new WorkerCrashError(this.id, this.pid, exit, tool, []);
    return new WorkerProtocolError(this.id, `the call to "${tool}" failed: ${error.message}`);
  }

  info(inFlight: number): WorkerInfo {
    return {
      id: this.id,
      pool: this.pool,
      pid: this.pid,
      state: this.life === 'recycling' ? 'ready' : this.life,
      inFlight,
      requests: this.requests,
      startedAt: this.startedAt.toISOString(),
      recycling: this.wasRecycled,
      stopReason: this.reason,
    };
  }

  private markStopping(reason: StopReason): void {
    if (this.life === 'stopping' || this.life === 'exited') return;
    this.reason = reason;
    this.life = 'stopping';
  }

  /** The process is gone: what it was running fails as a broken channel would. */
  private end(exit: WorkerExit): void {
    if (this.exit) return;
    this.exit = exit;
    this.life = 'exited';
    this.markExited(exit);
    const broken = new Error('the channel closed');
    for (const call of [...this.calls]) call.fail(broken);
    for (const stream of this.streams.splice(0)) stream.breakOff(broken);
  }
}

/** How the fakes of one test behave; the defaults answer `add` at once and keep `sleep` until told. */
export interface FakeBehaviour {
  startup(worker: FakeWorker): Promise<void>;
  onCall(worker: FakeWorker, call: FakeCall): void;
  onCancel(worker: FakeWorker, requestId: string): void;
}

export function defaultBehaviour(overrides: Partial<FakeBehaviour> = {}): FakeBehaviour {
  return {
    startup: async () => undefined,
    onCall: (_worker, call) => {
      if (call.request.tool === 'add') {
        const { a, b } = JSON.parse(Buffer.from(call.request.args.json).toString('utf8')) as { a: number; b: number };
        call.reply(a + b);
      }
    },
    onCancel: () => undefined,
    ...overrides,
  };
}

/** Everything a Pool needs, with fake workers; `workers` lists every fake made, in order. */
export function fakePoolSetup(options: Partial<SnakepitModuleOptions> = {}, behaviour = defaultBehaviour()) {
  const workers: FakeWorker[] = [];
  const events = new EventBus();
  const affinity = new SessionAffinity();
  const seen: Array<{ event: string; payload: Record<string, unknown> }> = [];
  events.onAny((event, payload) => seen.push({ event, payload: payload as Record<string, unknown> }));
  const config: PoolConfig = resolveOptions(
    { adapter: 'fake.adapter:Fake', poolSize: 2, heartbeat: { enabled: false }, restart: { backoffMs: 0, cooldownMs: 60_000 }, ...options },
    {},
    '/nowhere',
  ).pools[0];
  const context: FleetContext = {
    runId: 'run-1',
    registry: { reserve: () => undefined, bind: () => undefined, forget: () => undefined },
    events,
    killTimeoutMs: 100,
    affinity,
    sockets: { pathFor: () => undefined, release: () => undefined },
    createWorker: (id, pool) => {
      const worker = new FakeWorker(id, pool, behaviour);
      workers.push(worker);
      return worker;
    },
  };
  return { config, context, workers, events, affinity, seen, names: () => seen.map((e) => e.event) };
}

/** How the fakes "reach" a host they never call. */
export const NO_HOST = NO_HOST_ACCESS;

/** Lets promise callbacks and immediate timers run. */
export function settleDown(ms = 0): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
