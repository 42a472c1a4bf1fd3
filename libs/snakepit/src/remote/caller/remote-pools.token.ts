/** The injection token under which SnakepitRemoteModule provides RemotePoolService too (for
 *  parts that must not load @nestjs/microservices, such as the health indicator). */
export const REMOTE_POOLS = Symbol('SNAKEPIT_REMOTE_POOLS');

/** The token of SnakepitRemoteModule's resolved options and client. */
export const REMOTE_SETUP = Symbol('SNAKEPIT_REMOTE_SETUP');
