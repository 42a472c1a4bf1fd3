/** Options of one pool. In `forRoot()` they are given at the top level (one pool named "default"),
 *  or per entry of `pools`, where the top-level values act as defaults. */
export interface PoolOptions {
  /** Python adapter class, "package.module:Class" (or "package.module.Class"). */
  adapter: string;
  /** Worker processes. Default: the number of CPUs. */
  poolSize?: number;
  /** Interpreter to run. Default: $SNAKEPIT_PYTHON, else "python3". */
  pythonExecutable?: string;
  /** Extra directories put on the workers' PYTHONPATH (relative ones resolve from the current directory). */
  pythonPath?: string[];
  /** Extra environment variables for the workers. */
  env?: Record<string, string>;
  /** How many workers may be starting at the same time. Default 8. */
  startupConcurrency?: number;
  /** A worker not ready after this long fails to start. Default 30 000 ms. */
  startupTimeoutMs?: number;
  /** Default time limit of a call, queue wait included. Default 60 000 ms. */
  requestTimeoutMs?: number;
  queue?: {
    /** Calls that may wait for a worker. Default 1000. */
    maxSize?: number;
    /** How long a call may wait for a worker. Default 10 000 ms. */
    timeoutMs?: number;
  };
  /** After a call times out or is aborted, how long Python may take to finish it before its worker
   *  is killed and replaced. Default 1000 ms. */
  cancelGraceMs?: number;
  /** Largest message either way (arguments or result). Default 64 MiB. */
  maxMessageBytes?: number;
}

export interface NamedPoolOptions extends Partial<PoolOptions> {
  /** Pool name, used as `{ pool: name }` in calls. */
  name: string;
}

export interface SnakepitModuleOptions extends Partial<PoolOptions> {
  /** Several pools; the top-level pool options become their defaults. */
  pools?: NamedPoolOptions[];
  shutdown?: {
    /** How long in-flight and queued calls may take to finish at shutdown. Default 5000 ms. */
    graceMs?: number;
    /** After SIGTERM, how long a worker may take to exit before SIGKILL. Default 2000 ms. */
    killTimeoutMs?: number;
  };
  /** Make Nest's init wait until every pool is ready. Default false. */
  waitForReady?: boolean;
  /** When false, no worker starts and calls fail with PoolingDisabledError. Default true. */
  poolingEnabled?: boolean;
}
