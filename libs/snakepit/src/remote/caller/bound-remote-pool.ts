import { Inject, type Provider } from '@nestjs/common';
import type { Observable } from 'rxjs';
import type { StreamChunk } from '../../pool/chunk-stream';
import type { ExecuteOptions, SessionExecuteOptions } from '../../pool/pool.types';
import { RemotePoolService, type RemoteSessionOptions } from './remote-pool.service';
import type { RemoteSessionInfo } from './remote-sessions';

type Bound<T> = Omit<T, 'pool'>;

/** RemotePoolService bound to one pool name: what `@InjectRemotePool('name')` injects. */
export class BoundRemotePool {
  constructor(
    private readonly remote: RemotePoolService,
    readonly name?: string,
  ) {}

  execute<T = unknown>(tool: string, args?: Record<string, unknown>, options: Bound<ExecuteOptions> = {}): Promise<T> {
    return this.remote.execute<T>(tool, args, { ...options, pool: this.name });
  }

  executeInSession<T = unknown>(sessionId: string, tool: string, args?: Record<string, unknown>, options: Bound<SessionExecuteOptions> = {}): Promise<T> {
    return this.remote.executeInSession<T>(sessionId, tool, args, { ...options, pool: this.name });
  }

  executeStream<T = unknown>(tool: string, args?: Record<string, unknown>, options: Bound<ExecuteOptions> = {}): AsyncIterableIterator<StreamChunk<T>> {
    return this.remote.executeStream<T>(tool, args, { ...options, pool: this.name });
  }

  executeStreamInSession<T = unknown>(sessionId: string, tool: string, args?: Record<string, unknown>, options: Bound<SessionExecuteOptions> = {}): AsyncIterableIterator<StreamChunk<T>> {
    return this.remote.executeStreamInSession<T>(sessionId, tool, args, { ...options, pool: this.name });
  }

  stream$<T = unknown>(tool: string, args?: Record<string, unknown>, options: Bound<ExecuteOptions> = {}): Observable<StreamChunk<T>> {
    return this.remote.stream$<T>(tool, args, { ...options, pool: this.name });
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
