import * as grpc from '@grpc/grpc-js';
import {
  createWorkerClient,
  PROTOCOL_VERSION,
  type WireDescribeReply,
  type WireExecuteReply,
  type WireExecuteRequest,
  type WireStreamChunk,
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
import { killGroup, signalGroup, terminate } from '../process/process-killer';
import { startPythonProcess, type PythonProcess, type PythonProcessSpec } from '../process/python-process';

export type WorkerState = 'starting' | 'ready' | 'stopping' | 'exited';

/**
 * Why the host stopped a worker (none: it died by itself, a crash).
 * - `unresponsive`: it missed its heartbeats; `recycle`: it aged (TTL, requests, memory) or was
 *   recycled by hand; `stuck`: it kept running a call its caller gave up on; `protocol`: its
 *   replies were unreadable or its channel broke; `shutdown`: the pool closed or failed;
 *   `unwanted`: it became ready when the pool no longer needed it; `startup`: its start failed.
 */
export type StopReason = 'startup' | 'unresponsive' | 'recycle' | 'stuck' | 'protocol' | 'shutdown' | 'unwanted';

/** A Python tool as the worker describes it. */
export interface PythonToolInfo {
  name: string;
  description: string;
  supportsStreaming: boolean;
  parameters: unknown[];
}

/** A snapshot of one worker, as `PoolService.listWorkers()` shows it. */
export interface WorkerInfo {
  id: string;
  pool: string;
  pid: number | undefined;
  state: WorkerState;
  /** Calls running on it now. */
  inFlight: number;
  /** Calls it has finished, in any way. */
  requests: number;
  startedAt: string;
  readyAt?: string;
  /** Resident memory when last sampled (only with recycle.memoryLimitMb). */
  rssBytes?: number;
  /** Being replaced by a successor (it finishes its call first). */
  recycling: boolean;
  /** Set once the pool has stopped it. */
  stopReason?: StopReason;
}

/** How long to wait for the exit status of a process whose channel broke. */
const EXIT_SETTLE_MS = 1000;
const CANCEL_RPC_TIMEOUT_MS = 2000;
/** How long to wait, after an exit, for the rest of the process's output. */
const OUTPUT_SETTLE_MS = 200;

/**
 * One Python process and its gRPC channel. It starts, runs calls and stops; it reports its
 * exit through `exited`, and never decides pool policy.
 */
export class Worker {
  state: WorkerState = 'starting';
  inFlight = 0;
  requests = 0;
  tools: PythonToolInfo[] = [];
  readonly startedAt = new Date();
  readyAt?: Date;
  /** Being replaced by a successor: it takes no new call and stops once idle. */
  recycling = false;
  /** Calls on it that outlived their caller and cancelGraceMs (see Pool.retireStuck). */
  stuckCalls = 0;
  /** Why the host stopped it; unset if it died by itself. */
  stopReason?: StopReason;
  /** Heartbeats it missed in a row before it was declared unresponsive. */
  missedHeartbeats = 0;
  /** Resident memory when last sampled. */
  rssBytes?: number;
  /** Resolves as soon as the process has exited, with how it ended. */
  readonly exited: Promise<WorkerExit>;

  private readonly process: PythonProcess;
  private client?: WorkerClient;
  private exitInfo?: WorkerExit;
  private readonly maxMessageBytes: number;
  private readonly startupTimeoutMs: number;

  constructor(readonly id: string, readonly pool: string, spec: Omit<PythonProcessSpec, 'workerId'>) {
    this.maxMessageBytes = spec.maxMessageBytes;
    this.startupTimeoutMs = spec.startupTimeoutMs;
    this.process = startPythonProcess({ ...spec, workerId: id });
    const child = this.process.child;
    this.exited = new Promise((resolve) => {
      const onExit = (exitCode: number | null, signal: NodeJS.Signals | null) => {
        this.exitInfo = { exitCode, signal };
        this.state = 'exited';
        this.client?.close();
        // Whatever the tool started dies with the worker.
        killGroup(child.pid);
        resolve(this.exitInfo);
      };
      child.once('exit', onExit);
      // A spawn failure (ENOENT) emits 'error' and no 'exit'.
      child.once('error', () => {
        if (child.pid === undefined) onExit(null, null);
      });
    });
  }

  get pid(): number | undefined {
    return this.process.child.pid;
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
          `it speaks protocol ${description.protocolVersion}, this host speaks ${PROTOCOL_VERSION}: install matching versions of the npm package and priv/python`,
        );
      }
      this.tools = description.tools.map((tool) => ({
        name: tool.name,
        description: tool.description,
        supportsStreaming: tool.supportsStreaming,
        parameters: tool.parametersJson?.length ? JSON.parse(tool.parametersJson.toString('utf8')) : [],
      }));
      if (this.state !== 'starting') throw new WorkerStartError(this.id, 'it was stopped while starting');
      this.state = 'ready';
      this.readyAt = new Date();
    } catch (error) {
      this.kill('startup');
      if (error instanceof WorkerStartError) throw error;
      throw new WorkerStartError(this.id, `the handshake failed: ${(error as Error).message}`, this.lastOutput);
    }
  }

  /** Runs one call. Rejects with WorkerCrashError if the process dies, WorkerProtocolError if the
   *  channel breaks. `headers` go along as gRPC metadata (the trace context). */
  async execute(request: WireExecuteRequest, headers?: Record<string, string>): Promise<WireExecuteReply> {
    this.inFlight++;
    try {
      return await this.unary<WireExecuteRequest, WireExecuteReply>('Execute', request, undefined, headers);
    } catch (error) {
      throw await this.explainFailure(error as grpc.ServiceError, request.tool);
    } finally {
      this.inFlight--;
      this.requests++;
    }
  }

  /** Opens a streaming call. Its failures go through `explain()` to become typed errors. */
  openStream(request: WireExecuteRequest, headers?: Record<string, string>): grpc.ClientReadableStream<WireStreamChunk> {
    this.inFlight++;
    const call = this.client!.ExecuteStream(request, metadataOf(headers));
    call.once('close', () => {
      this.inFlight--;
      this.requests++;
    });
    return call;
  }

  /** Asks Python to stop a running call; best effort, answers at once. */
  cancel(requestId: string): void {
    this.unary('Cancel', { requestId }, CANCEL_RPC_TIMEOUT_MS).catch(() => undefined);
  }

  /** Answers once the worker's gRPC server does; rejects after `timeoutMs`. */
  async ping(timeoutMs: number): Promise<void> {
    await this.unary('Ping', {}, timeoutMs);
  }

  /** SIGTERM (Python finishes in-flight calls), then SIGKILL after `killTimeoutMs`. */
  async stop(killTimeoutMs: number, reason: StopReason): Promise<void> {
    this.markStopping(reason);
    await terminate(this.process.child, killTimeoutMs);
    await this.exited;
  }

  /** SIGKILL at once, to it and its process group, for a worker that is stuck or not wanted. */
  kill(reason: StopReason): void {
    this.markStopping(reason);
    signalGroup(this.process.child, 'SIGKILL');
  }

  private markStopping(reason: StopReason): void {
    this.stopReason ??= reason;
    if (this.state !== 'exited') this.state = 'stopping';
  }

  info(): WorkerInfo {
    return {
      id: this.id,
      pool: this.pool,
      pid: this.pid,
      state: this.state,
      inFlight: this.inFlight,
      requests: this.requests,
      startedAt: this.startedAt.toISOString(),
      readyAt: this.readyAt?.toISOString(),
      rssBytes: this.rssBytes,
      recycling: this.recycling,
      stopReason: this.stopReason,
    };
  }

  private unary<Req, Rep>(
    method: 'Describe' | 'Execute' | 'Ping' | 'Cancel',
    request: Req,
    timeoutMs?: number,
    headers?: Record<string, string>,
  ): Promise<Rep> {
    const options = timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs };
    return new Promise((resolve, reject) => {
      (this.client as any)[method](request, metadataOf(headers), options, (error: grpc.ServiceError | null, reply: Rep) =>
        error ? reject(error) : resolve(reply),
      );
    });
  }

  /** What a broken call means: the worker crashed (with its exit), was killed for missing its
   *  heartbeats, or the channel broke. */
  async explainFailure(error: grpc.ServiceError, tool: string): Promise<SnakepitError> {
    const exit = this.exitInfo ?? (await Promise.race([this.exited, delay(EXIT_SETTLE_MS)]));
    if (this.stopReason === 'unresponsive') return new WorkerUnresponsiveError(this.id, this.pid, this.missedHeartbeats, tool);
    if (exit) return new WorkerCrashError(this.id, this.pid, exit, tool, await this.lastWords());
    return new WorkerProtocolError(this.id, `the call to "${tool}" failed: ${error.details || error.message}`, {
      cause: error,
    });
  }
}

function metadataOf(headers: Record<string, string> | undefined): grpc.Metadata {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(headers ?? {})) metadata.set(key, value);
  return metadata;
}

function delay(ms: number): Promise<undefined> {
  return new Promise((resolve) => setTimeout(() => resolve(undefined), ms).unref());
}
