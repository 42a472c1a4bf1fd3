import { Inject, type Provider } from '@nestjs/common';
import type { Observable } from 'rxjs';
import type { StreamChunk } from '../../pool/chunk-stream';
import type { ExecuteOptions, SessionExecuteOptions } from '../../pool/pool.types';
import { RemotePoolService, type RemoteSessionOptions } from './remote-pool.service';
import type { RemoteSessionInfo } from './remote-sessions';
import type { CallRest, OpenTools, StreamPick, ToolChunk, ToolMap, ToolName, ToolPick, ToolResult } from '../../pool/tool-map';

type Bound<T> = Omit<T, 'pool'>;

/** RemotePoolService bound to one pool name: what `@InjectRemotePool('name')` injects. Typed
 *  by the interface `snakepit gen types` writes, as BoundPool (`BoundRemotePool<MlTools>`). */
export class BoundRemotePool<Tools extends ToolMap<Tools> = OpenTools> {
  constructor(
    private readonly remote: RemotePoolService,
    readonly name?: string,
  ) {}

  execute<K extends ToolPick<Tools> = ToolPick<Tools>>(tool: ToolName<Tools, K>, ...rest: CallRest<Tools, K, Bound<ExecuteOptions>>): Promise<ToolResult<Tools, K>>;
  execute(tool: string, args?: any, options: Bound<ExecuteOptions> = {}): Promise<any> {
    return this.remote.execute(tool, args, { ...options, pool: this.name });
  }

  executeInSession<K extends ToolPick<Tools> = ToolPick<Tools>>(
    sessionId: string,
    tool: ToolName<Tools, K>,
    ...rest: CallRest<Tools, K, Bound<SessionExecuteOptions>>
  ): Promise<ToolResult<Tools, K>>;
  executeInSession(sessionId: string, tool: string, args?: any, options: Bound<SessionExecuteOptions> = {}): Promise<any> {
    return this.remote.executeInSession(sessionId, tool, args, { ...options, pool: this.name });
  }

  executeStream<K extends StreamPick<Tools> = StreamPick<Tools>>(
    tool: ToolName<Tools, K>,
    ...rest: CallRest<Tools, K, Bound<ExecuteOptions>>
  ): AsyncIterableIterator<StreamChunk<ToolChunk<Tools, K>>>;
  executeStream(tool: string, args?: any, options: Bound<ExecuteOptions> = {}): AsyncIterableIterator<StreamChunk<any>> {
    return this.remote.executeStream(tool, args, { ...options, pool: this.name });
  }

  executeStreamInSession<K extends StreamPick<Tools> = StreamPick<Tools>>(
    sessionId: string,
    tool: ToolName<Tools, K>,
    ...rest: CallRest<Tools, K, Bound<SessionExecuteOptions>>
  ): AsyncIterableIterator<StreamChunk<ToolChunk<Tools, K>>>;
  executeStreamInSession(sessionId: string, tool: string, args?: any, options: Bound<SessionExecuteOptions> = {}): AsyncIterableIterator<StreamChunk<any>> {
    return this.remote.executeStreamInSession(sessionId, tool, args, { ...options, pool: this.name });
  }

  stream$<K extends StreamPick<Tools> = StreamPick<Tools>>(
    tool: ToolName<Tools, K>,
    ...rest: CallRest<Tools, K, Bound<ExecuteOptions>>
  ): Observable<StreamChunk<ToolChunk<Tools, K>>>;
  stream$(tool: string, args?: any, options: Bound<ExecuteOptions> = {}): Observable<StreamChunk<any>> {
    return this.remote.stream$(tool, args, { ...options, pool: this.name });
  }

  createSession(options: Bound<RemoteSessionOptions> = {}): Promise<RemoteSessionInfo> {
    return this.remote.createSession({ ...options, pool: this.name });
  }

  ready(timeoutMs?: number): Promise<void> {
    return this.remote.ready(this.name, timeoutMs);
  }
}

/** Pool names asked for with @InjectRemotePool, wherever it was used. */
const requested = new Set<string | undefined>();

export function remotePoolToken(name?: string): string {
  return name === undefined ? 'SNAKEPIT_REMOTE_POOL' : `SNAKEPIT_REMOTE_POOL:${name}`;
}

/** Injects a BoundRemotePool for the pool of that name (without one: each host's default pool). */
export function InjectRemotePool(name?: string): PropertyDecorator & ParameterDecorator {
  requested.add(name);
  return Inject(remotePoolToken(name));
}

/** Providers of the BoundRemotePools for these names and every name @InjectRemotePool asked for. */
export function boundRemotePoolProviders(names: string[]): Provider[] {
  return [...new Set<string | undefined>([undefined, ...names, ...requested])].map((name) => ({
    provide: remotePoolToken(name),
    useFactory: (remote: RemotePoolService) => new BoundRemotePool(remote, name),
    inject: [RemotePoolService],
  }));
}
