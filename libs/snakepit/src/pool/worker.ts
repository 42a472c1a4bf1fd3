import * as grpc from '@grpc/grpc-js';
import { WorkerChannel } from '../bridge/worker-channel';
import {
  createWorkerClient,
  PROTOCOL_VERSION,
  type WireDescribeReply,
  type WireExecuteReply,
  type WireExecuteRequest,
  type WorkerClient,
} from '../bridge/wire';
import {
  WorkerCrashError,
  WorkerProtocolError,
  WorkerStartError,
  WorkerUnresponsiveError,
  type SnakepitError,
  type WorkerExit,
} from '../errors';
import { killMarked } from '../process/marked-processes';
import { killGroup } from '../process/process-killer';
import type { PythonProcessSpec } from '../process/python-process';
import { SPAWN_LAUNCHER } from '../process/spawned-process';
import type { WorkerLauncher, WorkerProcess } from '../process/worker-process';
import type { PoolWorker, PythonToolInfo, StopReason, ToolSchemas, WorkerInfo, WorkerLifeState, WorkerStream } from './worker.types';

export type { PythonToolInfo, StopReason, WorkerInfo, WorkerState } from './worker.types';

/** How long to wait for the exit status of a process whose channel broke. */
const EXIT_SETTLE_MS = 1000;
/** How long to wait, after an exit, for the rest of the process's output. */
const OUTPUT_SETTLE_MS = 200;

/**
 * The life of a worker, one state at a time. `recycling`: it is being replaced by a successor,
 * takes no new call and stops once idle. A stop remembers why, and whether the worker had been
 * recycling; an unresponsive one, how many heartbeats it missed.
 */
type Life =
  | { state: 'starting' }
  | { state: 'ready' }
  | { state: 'recycling' }
  | { state: 'stopping'; reason: StopReason; recycled: boolean; missedHeartbeats?: number }
  | { state: 'exited'; exit: WorkerExit; reason?: StopReason; recycled: boolean; missedHeartbeats?: number };

/**
 * One Python process and its gRPC channel. It starts, runs calls and stops; it reports its
 * exit through `exited`, and never decides pool policy. Its state changes only through its
 * methods: start(), markRecycling(), stop(), kill() and the process's exit.
 */
export class Worker implements PoolWorker {
  requests = 0;
  tools: PythonToolInfo[] = [];
  readonly startedAt = new Date();
  readyAt?: Date;
  /** Resolves as soon as the process has exited, with how it ended. */
  readonly exited: Promise<WorkerExit>;

  private life: Life = { state: 'starting' };
  private memory?: number;
  private readonly process: WorkerProcess;
  private client?: WorkerClient;
  /** Every call after the handshake travels on it. */
  private channel?: WorkerChannel;
  private readonly maxMessageBytes: number;
  private readonly startupTimeoutMs: number;
  /** Sent with every call: the worker refuses calls without it. */
  private readonly secret: string;

  /** `launcher` spawns the process, or forks it from the pool's template. */
  constructor(readonly id: string, readonly pool: string, spec: Omit<PythonProcessSpec, 'workerId'>, launcher: WorkerLauncher = SPAWN_LAUNCHER) {
    this.maxMessageBytes = spec.maxMessageBytes;
    this.startupTimeoutMs = spec.startupTimeoutMs;
    this.secret = spec.secrets.workerSecret;
    this.process = launcher.launch({ ...spec, workerId: id });
    this.exited = this.process.exited.then(async (exit) => {
      const stopped = this.life.state === 'stopping' ? this.life : undefined;
      this.life = { state: 'exited', exit, reason: stopped?.reason, recycled: this.recycled, missedHeartbeats: stopped?.missedHeartbeats };
      // With calls sent ahead on it, the word that one of them started may still be on its way:
      // the channel ends by itself once what the worker wrote is read; only then, or after
      // OUTPUT_SETTLE_MS, do the calls left on it fail and the exit count (so that a call that
      // had started is never taken for one that had not).
      if (this.channel?.awaitingStarts) await Promise.race([this.channel.ended, delay(OUTPUT_SETTLE_MS)]);
      this.channel?.close('the worker exited');
      this.client?.close();
      // Whatever the tool started dies with the worker: its process group, and what left the
      // group but carries the worker's marker.
      const pid = this.process.pid;
      killGroup(pid);
      if (pid !== undefined) void killMarked({ runId: spec.runId, workerId: id }, 0).catch(() => undefined);
      return exit;
    });
  }

  /** Resolves with the pid once it is known (a forked worker's comes from its template). */
  get pidKnown(): Promise<number | undefined> {
    return this.process.pidKnown;
  }

  get state(): WorkerLifeState {
    return this.life.state;
  }

  /** Ready, or recycling: a process that still runs calls. */
  get serving(): boolean {
    return this.life.state === 'ready' || this.life.state === 'recycling';
  }

  get reachable(): boolean {
    return this.channel !== undefined && !this.channel.failed;
  }

  /** Being replaced by a successor (also once it stops or exited after that). */
  get recycled(): boolean {
    return this.life.state === 'recycling' || ((this.life.state === 'stopping' || this.life.state === 'exited') && this.life.recycled);
  }

  /** Why the host stopped it; undefined while it runs, or when it died by itself. */
  get stopReason(): StopReason | undefined {
    return this.life.state === 'stopping' || this.life.state === 'exited' ? this.life.reason : undefined;
  }

  get missedHeartbeats(): number {
    return (this.life.state === 'stopping' || this.life.state === 'exited' ? this.life.missedHeartbeats : undefined) ?? 0;
  }

  get rssBytes(): number | undefined {
    return this.memory;
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  get lastOutput(): string[] {
    return this.process.output.snapshot();
  }

  /** The last output lines once the process is gone, waiting briefly for its pipes to drain
   *  (a fatal error's stack arrives just after the exit). */
  async lastWords(): Promise<string[]> {
    await Promise.race([this.process.outputClosed, delay(OUTPUT_SETTLE_MS)]);
    return this.lastOutput;
  }

  /** Waits for the handshake, connects, and reads the adapter's tools. Kills the process on failure. */
  async start(): Promise<void> {
    try {
      const ready = await this.process.ready;
      this.client = createWorkerClient(ready.address, this.maxMessageBytes);
      const description = await this.unary<Record<string, never>, WireDescribeReply>('Describe', {}, this.startupTimeoutMs);
      if (description.protocolVersion !== PROTOCOL_VERSION) {
        throw new WorkerStartError(
          this.id,
          `it speaks protocol ${description.protocolVersion}, this host speaks ${PROTOCOL_VERSION}: install matching versions of @snakepit/nestjs and snakepit-bridge`,
        );
      }
      const client = this.client;
      this.channel = new WorkerChannel(() => client.Channel(this.metadata()), this.maxMessageBytes, (error) => this.channelBroke(error));
      this.tools = description.tools.map((tool) => ({
        name: tool.name,
        description: tool.description,
        supportsStreaming: tool.supportsStreaming,
        parameters: tool.parametersJson?.length ? JSON.parse(tool.parametersJson.toString('utf8')) : [],
        ...(tool.schemaJson?.length ? { schemas: JSON.parse(tool.schemaJson.toString('utf8')) as ToolSchemas } : {}),
      }));
      if (this.life.state !== 'starting') throw new WorkerStartError(this.id, 'it was stopped while starting');
      this.life = { state: 'ready' };
      this.readyAt = new Date();
    } catch (error) {
      this.kill('startup');
      if (error instanceof WorkerStartError) throw error;
      throw new WorkerStartError(this.id, `the handshake failed: ${(error as Error).message}`, this.lastOutput);
    }
  }

  /** It is being replaced: it takes no new call and stops once idle. Only a ready worker can be. */
  markRecycling(): boolean {
    if (this.life.state !== 'ready') return false;
    this.life = { state: 'recycling' };
    return true;
  }

  /** Resident memory, as the monitor last sampled it. */
  recordMemory(rssBytes: number): void {
    this.memory = rssBytes;
  }

  /** Runs one call. Rejects with WorkerCrashError if the process dies, WorkerProtocolError if the
   *  channel breaks. With `onStarted`, it is sent ahead and `onStarted` hears when it starts. */
  async execute(request: WireExecuteRequest, onStarted?: () => void): Promise<WireExecuteReply> {
    try {
      return await this.channel!.execute(request, onStarted);
    } catch (error) {
      throw await this.explainFailure(error as grpc.ServiceError, request.tool);
    } finally {
      this.requests++;
    }
  }

  /** Opens a streaming call. Its failures go through `explainFailure()` to become typed errors. */
  openStream(request: WireExecuteRequest, onStarted?: () => void): WorkerStream {
    const stream = this.channel!.openStream(request, onStarted);
    stream.once('close', () => this.requests++);
    return stream;
  }

  /** Asks Python to stop a running call; best effort. */
  cancel(requestId: string): void {
    this.channel?.cancel(requestId);
  }

  /** Answers once the worker does, over its channel; rejects after `timeoutMs`. */
  async ping(timeoutMs: number): Promise<void> {
    await this.channel!.ping(timeoutMs);
  }

  /** The channel failed or the worker ended it, while the worker was meant to serve (its calls
   *  have failed with the channel's error). A worker that broke the protocol is replaced at once;
   *  one that is dying anyway has its exit seen as a crash; one still alive after
   *  EXIT_SETTLE_MS is at fault, and is replaced. */
  private channelBroke(error: grpc.ServiceError): void {
    if (!this.serving) return;
    if (error.code === grpc.status.INTERNAL) return this.kill('protocol');
    void Promise.race([this.exited, delay(EXIT_SETTLE_MS)]).then((exit) => {
      if (!exit && this.serving) this.kill('protocol');
    });
  }

  /** SIGTERM (Python finishes in-flight calls), then SIGKILL after `killTimeoutMs`. */
  async stop(killTimeoutMs: number, reason: StopReason): Promise<void> {
    this.markStopping(reason);
    await this.process.terminate(killTimeoutMs);
    await this.exited;
  }

  /** SIGKILL at once, to it and its process group, for a worker that is stuck or not wanted. */
  kill(reason: StopReason, facts: { missedHeartbeats?: number } = {}): void {
    this.markStopping(reason, facts.missedHeartbeats);
    this.process.signal('SIGKILL');
  }

  /** The first reason to stop it is the one that counts. */
  private markStopping(reason: StopReason, missedHeartbeats?: number): void {
    if (this.life.state === 'stopping' || this.life.state === 'exited') return;
    this.life = { state: 'stopping', reason, recycled: this.recycled, missedHeartbeats };
  }

  info(inFlight: number): WorkerInfo {
    const state = this.life.state === 'recycling' ? 'ready' : this.life.state;
    return {
      id: this.id,
      pool: this.pool,
      pid: this.pid,
      state,
      inFlight,
      requests: this.requests,
      startedAt: this.startedAt.toISOString(),
      readyAt: this.readyAt?.toISOString(),
      rssBytes: this.memory,
      recycling: this.recycled,
      stopReason: this.stopReason,
    };
  }

  /** A call's metadata: the worker's secret. */
  private metadata(): grpc.Metadata {
    const metadata = new grpc.Metadata();
    metadata.set(WORKER_SECRET_METADATA_KEY, this.secret);
    return metadata;
  }

  private unary<Req, Rep>(method: 'Describe', request: Req, timeoutMs: number): Promise<Rep> {
    return new Promise((resolve, reject) => {
      (this.client as any)[method](request, this.metadata(), { deadline: Date.now() + timeoutMs }, (error: grpc.ServiceError | null, reply: Rep) =>
        error ? reject(error) : resolve(reply),
      );
    });
  }

  /** What a broken call means: the worker crashed (with its exit), was killed for missing its
   *  heartbeats, or the channel broke. */
  async explainFailure(error: grpc.ServiceError, tool: string): Promise<SnakepitError> {
    const exit = this.life.state === 'exited' ? this.life.exit : await Promise.race([this.exited, delay(EXIT_SETTLE_MS)]);
    if (this.stopReason === 'unresponsive') return new WorkerUnresponsiveError(this.id, this.pid, this.missedHeartbeats, tool);
    if (exit) return new WorkerCrashError(this.id, this.pid, exit, tool, await this.lastWords());
    return new WorkerProtocolError(this.id, `the call to "${tool}" failed: ${error.details || error.message}`, {
      cause: error,
    });
  }
}

/** Metadata entry that carries the worker's secret on every call to it. */
export const WORKER_SECRET_METADATA_KEY = 'x-snakepit-worker-secret';

function delay(ms: number): Promise<undefined> {
  return new Promise((resolve) => setTimeout(() => resolve(undefined), ms).unref());
}
