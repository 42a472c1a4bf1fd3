import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { ClientProxy } from '@nestjs/microservices';
import type { Observable } from 'rxjs';
import { HostLostError, NoHostAvailableError, RemoteProtocolError } from '../../errors';
import type { StreamChunk } from '../../pool/chunk-stream';
import { chunksAsObservable } from '../../pool/chunk-observable';
import type { ExecuteOptions, SessionExecuteOptions } from '../../pool/pool.types';
import type { SessionInfo } from '../../session/session.service';
import { errorFromWire, isWireError } from '../error-wire';
import { remoteSubjects, type RemoteSubjects } from '../remote-subjects';
import { REMOTE_PROTOCOL } from '../remote-wire';
import type { ResolvedRemoteOptions } from '../remote-options';
import { HostDirectory, type RemoteHostView } from './host-directory';
import { HostPlacer } from './host-placer';
import { attempt } from './remote-attempt';
import { RemoteCalls } from './remote-calls';
import { RemoteChunkStream } from './remote-chunk-stream';
import { RemoteClient } from './remote-client';
import { RemoteSessions, type RemoteSessionInfo } from './remote-sessions';
import { REMOTE_SETUP } from './remote-pools.token';
import type { CallRest, OpenTools, StreamPick, ToolChunk, ToolMap, ToolName, ToolPick, ToolResult } from '../../pool/tool-map';

/** What SnakepitRemoteModule hands RemotePoolService. */
export interface RemoteSetup {
  client: ClientProxy;
  /** Whether the module made the client (and so closes it at shutdown). */
  ownsClient: boolean;
  options: ResolvedRemoteOptions;
}

/** What a remote-mode caller knows of the hosts. */
export interface RemotePoolStats {
  hosts: RemoteHostView[];
  /** Calls of this caller waiting for a host with room. */
  queued: number;
  brokerReachable: boolean;
}

export interface RemoteSessionOptions {
  id?: string;
  ttlMs?: number;
  metadata?: Record<string, unknown>;
  /** The pool whose capacity picks the owning host. */
  pool?: string;
  signal?: AbortSignal;
}

/**
 * PoolService's calls, run by pools that other apps serve on a broker (SnakepitHostModule). A
 * call goes to a host with free capacity; a session's calls go to the host that owns it. Errors
 * arrive as the same classes with the same codes (a remote PythonValueError is a
 * PythonValueError), plus NoHostAvailableError and HostLostError of their own. Typed by the
 * interface `snakepit gen types` writes, as PoolService (`RemotePoolService<MlTools>`).
 */
@Injectable()
export class RemotePoolService<Tools extends ToolMap<Tools> = OpenTools> implements OnModuleInit, OnApplicationShutdown {
  private readonly client: RemoteClient;
  private readonly subjects: RemoteSubjects;
  private readonly directory: HostDirectory;
  private readonly placer: HostPlacer;
  private readonly sessions: RemoteSessions;
  private readonly calls: RemoteCalls;
  private readonly options: ResolvedRemoteOptions;

  constructor(@Inject(REMOTE_SETUP) private readonly setup: RemoteSetup) {
    this.options = setup.options;
    this.client = new RemoteClient(setup.client);
    this.subjects = remoteSubjects(this.options.subjectPrefix);
    this.directory = new HostDirectory(this.client, this.subjects, this.options);
    this.placer = new HostPlacer(this.directory, this.options);
    this.sessions = new RemoteSessions(this.client, this.subjects, this.directory, this.options);
    this.calls = new RemoteCalls(this.client, this.subjects, this.directory, this.placer, this.sessions, this.options);
  }

  onModuleInit(): void {
    this.directory.start();
  }

  async onApplicationShutdown(): Promise<void> {
    this.directory.stop();
    this.placer.close();
    if (this.setup.ownsClient) await this.client.close();
  }

  /** Runs `tool` on a host with free capacity and resolves with its result (see PoolService.execute). */
  execute<K extends ToolPick<Tools> = ToolPick<Tools>>(tool: ToolName<Tools, K>, ...rest: CallRest<Tools, K, ExecuteOptions>): Promise<ToolResult<Tools, K>>;
  execute(tool: string, args?: any, options: ExecuteOptions = {}): Promise<any> {
    return this.calls.execute(tool, args, options);
  }

  /** Runs `tool` within a session, on the host that owns it (see PoolService.executeInSession). */
  executeInSession<K extends ToolPick<Tools> = ToolPick<Tools>>(
    sessionId: string,
    tool: ToolName<Tools, K>,
    ...rest: CallRest<Tools, K, SessionExecuteOptions>
  ): Promise<ToolResult<Tools, K>>;
  executeInSession(sessionId: string, tool: string, args?: any, options: SessionExecuteOptions = {}): Promise<any> {
    return this.calls.execute(tool, args, options, sessionId);
  }

  /** A streaming tool's chunks, for `for await` (see PoolService.executeStream). At most
   *  streamWindow chunks travel ahead of the reader: a slow reader slows the host, and Python. */
  executeStream<K extends StreamPick<Tools> = StreamPick<Tools>>(
    tool: ToolName<Tools, K>,
    ...rest: CallRest<Tools, K, ExecuteOptions>
  ): AsyncIterableIterator<StreamChunk<ToolChunk<Tools, K>>>;
  executeStream(tool: string, args?: any, options: ExecuteOptions = {}): AsyncIterableIterator<StreamChunk<any>> {
    return this.openStream(tool, args, options);
  }

  executeStreamInSession<K extends StreamPick<Tools> = StreamPick<Tools>>(
    sessionId: string,
    tool: ToolName<Tools, K>,
    ...rest: CallRest<Tools, K, SessionExecuteOptions>
  ): AsyncIterableIterator<StreamChunk<ToolChunk<Tools, K>>>;
  executeStreamInSession(sessionId: string, tool: string, args?: any, options: SessionExecuteOptions = {}): AsyncIterableIterator<StreamChunk<any>> {
    return this.openStream(tool, args, options, sessionId);
  }

  /** executeStream() as an rxjs Observable; unsubscribing cancels it on the host. */
  stream$<K extends StreamPick<Tools> = StreamPick<Tools>>(
    tool: ToolName<Tools, K>,
    ...rest: CallRest<Tools, K, ExecuteOptions>
  ): Observable<StreamChunk<ToolChunk<Tools, K>>>;
  stream$(tool: string, args?: any, options: ExecuteOptions = {}): Observable<StreamChunk<any>> {
    return chunksAsObservable(() => (this as RemotePoolService).executeStream(tool, args, options));
  }

  /** Creates a session on a host (the one with most room for `pool`), which owns it from then on. */
  createSession(options: RemoteSessionOptions = {}): Promise<RemoteSessionInfo> {
    return this.sessions.create(options);
  }

  getSession(id: string): Promise<SessionInfo> {
    return this.sessions.get(id);
  }

  /** Removes a session and its state; resolves whether it was there. */
  deleteSession(id: string): Promise<boolean> {
    return this.sessions.delete(id);
  }

  /** A state value of the session (undefined when not set), as SessionService.getState on a host. */
  getSessionState<T = unknown>(id: string, key: string): Promise<T | undefined> {
    return this.sessions.getState<T>(id, key);
  }

  setSessionState(id: string, key: string, value: unknown): Promise<void> {
    return this.sessions.setState(id, key, value);
  }

  deleteSessionState(id: string, key: string): Promise<void> {
    return this.sessions.deleteState(id, key);
  }

  /** The hosts this caller sees, with the load of their pools. */
  hosts(): RemoteHostView[] {
    return this.directory.hosts();
  }

  stats(): RemotePoolStats {
    return { hosts: this.directory.hosts(), queued: this.placer.queued, brokerReachable: this.directory.brokerReachable };
  }

  /** One host's full stats (PoolService.stats() of each of its pools, its sessions), through the broker. */
  async hostStats(hostId: string): Promise<unknown> {
    const end = await attempt({
      client: this.client,
      directory: this.directory,
      hostId,
      subject: this.subjects.host(hostId).stats,
      request: { v: REMOTE_PROTOCOL },
      hostLostAfterMs: this.options.hostLostAfterMs,
      deadline: Date.now() + this.options.timeoutMs,
    });
    if (end.kind === 'frame' && end.frame.kind === 'answer') return end.frame.body;
    if (end.kind === 'frame' && end.frame.kind === 'error' && isWireError(end.frame.error)) throw errorFromWire(end.frame.error, hostId);
    if (end.kind === 'malformed' || end.kind === 'frame') throw new RemoteProtocolError(hostId, 'an answer that is not stats');
    throw new HostLostError(hostId, 'stats', end.kind === 'unreachable' ? 'nobody listens on its subjects' : `the request ended: ${end.kind}`);
  }

  /** Resolves once some host serving `pool` has answered (rejects with NoHostAvailableError
   *  after `timeoutMs`, default queueTimeoutMs). */
  async ready(pool?: string, timeoutMs = this.options.queueTimeoutMs): Promise<void> {
    const started = Date.now();
    while (!this.directory.serves(pool)) {
      if (Date.now() - started >= timeoutMs) throw new NoHostAvailableError(pool ?? 'default', Date.now() - started, this.directory.brokerReachable ? 'no_hosts' : 'broker_down');
      await Promise.all([this.directory.rollCall(), new Promise((resolve) => setTimeout(resolve, 50))]);
    }
  }

  private openStream(tool: string, args: Record<string, unknown> | undefined, options: SessionExecuteOptions, sessionId?: string): RemoteChunkStream<unknown> {
    const window = this.options.streamWindow;
    const stream = new RemoteChunkStream<unknown>(window);
    let argsText: string;
    try {
      argsText = this.calls.prepare(tool, args, options);
    } catch (error) {
      stream.fail(error as Error);
      return stream;
    }
    const stop = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
    let current: { hostId: string; callId: string } | undefined;
    stream.onCredit = (chunks) => current && this.calls.credit(current.hostId, current.callId, chunks);
    stream.onCancel = () => {
      // First the host hears that the reader stopped (it closes the stream as a consumer would:
      // `cancelled`, not an error), then the call here ends (its cancel is then ignored there).
      if (current) this.calls.cancel(current.hostId, current.callId, true);
      stop.abort(new Error('the reader stopped reading'));
    };
    void this.calls.stream(tool, argsText, { ...options, signal }, stream, window, (hostId, callId) => (current = { hostId, callId }), sessionId);
    return stream;
  }
}
