import { Inject, type Provider } from '@nestjs/common';
import { BoundCalls, type Bound } from '../../pool/bound-calls';
import { RemotePoolService, type RemoteSessionOptions } from './remote-pool.service';
import type { RemoteSessionInfo } from './remote-sessions';
import type { OpenTools, ToolMap } from '../../pool/tool-map';

/** RemotePoolService bound to one pool name: what `@InjectRemotePool('name')` injects. Typed
 *  by the interface `snakepit gen types` writes, as BoundPool (`BoundRemotePool<MlTools>`). */
export class BoundRemotePool<Tools extends ToolMap<Tools> = OpenTools> extends BoundCalls<Tools> {
  constructor(
    private readonly remote: RemotePoolService,
    name?: string,
  ) {
    super(remote, name);
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
