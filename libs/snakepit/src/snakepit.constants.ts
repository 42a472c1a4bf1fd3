/** Injection token of the raw options given to forRoot()/forRootAsync(). */
export const SNAKEPIT_OPTIONS = Symbol('snakepit:options');

/** Injection token of the validated options, with every default filled in (ResolvedOptions). */
export const SNAKEPIT_CONFIG = Symbol('snakepit:config');

/** Injection token of the HostBridge (the pools see it through this, not through its class). */
export const HOST_BRIDGE = Symbol('snakepit:host-bridge');

/** What a worker needs to call the host back: handed to it over a pipe, never in its environment. */
export interface HostAccess {
  /** "unix:/path" or "127.0.0.1:port". */
  address: string;
  secret: string;
  /** The private directory of the Unix socket, when there is one. */
  socketDir?: string;
}

/** Before the host bridge is known (and in unit tests, where there is none). */
export const NO_HOST_ACCESS: HostAccess = Object.freeze({ address: '', secret: '' });

/** The server workers call back, as the pools need it. */
export interface HostBridge {
  /** Starts listening if needed; resolves with how workers reach it. */
  workerAccess(): Promise<HostAccess>;
  stop(): Promise<void>;
}

/** Metadata key that @SnakepitTool() puts on a method. */
export const SNAKEPIT_TOOL_METADATA = 'snakepit:tool';
