/**
 * Pools beyond one machine (`@snakepit/nestjs/remote`): SnakepitHostModule serves an app's
 * pools on a broker through @nestjs/microservices; SnakepitRemoteModule's RemotePoolService
 * calls them. NATS is the broker tested and documented.
 */
export { SnakepitHostModule } from './host/snakepit-host.module';
export { HostCalls } from './host/host-calls';
export { OWNER_KEY as SESSION_OWNER_STATE_KEY } from './host/host-sessions';
export { SnakepitRemoteModule, type SnakepitRemoteModuleAsyncOptions, type SnakepitRemoteModuleOptions } from './caller/snakepit-remote.module';
export { RemotePoolService, type RemotePoolStats, type RemoteSessionOptions } from './caller/remote-pool.service';
export { BoundRemotePool, InjectRemotePool, remotePoolToken } from './caller/bound-remote-pool';
export type { RemoteHostView } from './caller/host-directory';
export type { RemoteSessionInfo } from './caller/remote-sessions';
export type { RemotePoolOptions, SnakepitHostOptions } from './remote-options';
export { REMOTE_POOLS } from './caller/remote-pools.token';
export type { HostAnnouncement, HostLoad } from './remote-wire';
