import type { PythonRuntimeOptions } from '../python/python-runtime';
import type { SessionStore } from '../session/session-store';

/** Options of one pool. In `forRoot()` they are given at the top level (one pool named "default"),
 *  or per entry of `pools`, where the top-level values act as defaults. */
export interface PoolOptions {
  /** Python adapter class, "package.module:Class" (or "package.module.Class"). */
  adapter: string;
  /** Worker processes. Default: the number of CPUs. */
  poolSize?: number;
  /** `process` (default): each worker runs one call at a time. `thread`: each worker runs
   *  `threadsPerWorker` calls at once, in threads; the adapter must declare `thread_safe = True`. */
  workerProfile?: WorkerProfile;
  /** Calls a worker runs at once in the thread profile. Default 4. */
  threadsPerWorker?: number;
  /**
   * Calls each busy worker may hold waiting, sent ahead while it runs others, when no worker of
   * the pool is free: the worker starts the next one as soon as it is done, without waiting for
   * the host, and calls on it share gRPC messages. Raises the throughput of many small calls
   * (see the benchmarks); the price is that a call sent ahead waits behind the one in front of
   * it, even if another worker frees up first. Calls placed on a session's worker in a strict
   * affinity mode are never sent ahead. Default 0 (off).
   */
  prefetchPerWorker?: number;
  /** Interpreter to run. Default: see `python` (the resolution order is in the README). */
  pythonExecutable?: string;
  /** How the project gets its Python: `{ strategy: 'system' | 'venv' | 'uv', executable?, venvDir? }`. */
  python?: PythonRuntimeOptions;
  /** Extra directories put on the workers' PYTHONPATH (relative ones resolve from `projectRoot`). */
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
  /** A stream whose consumer has not read for this long while its buffer is full (a slow or
   *  stalled client) is stopped: Python is cancelled, the worker freed, and the consumer gets
   *  StreamConsumerIdleError after the chunks it had. Default 30 000 ms. */
  streamIdleTimeoutMs?: number;
  /** Largest message either way (arguments or result). Default 64 MiB. */
  maxMessageBytes?: number;
  /** Check each call's arguments against its tool's JSON Schema (derived from the Python type
   *  hints) on the host, before the call queues: a mismatch is ToolArgumentsError, listing every
   *  bad field, and never reaches Python. Overridable per call. Default true. */
  validateArguments?: boolean;
  /** How executeInSession picks a worker; overridable per call. Default "hint". */
  affinity?: AffinityMode;
  /** The Logger level of what Python prints (stdout and stderr lines, under the worker's id as
   *  context); stderr lines are never logged below "warn". The bridge's own log lines keep their
   *  level. "off" drops printed lines. Default "log". */
  pythonLogLevel?: PythonLogLevel;
  /** The host pings each worker; one that misses `maxMisses` pings in a row is killed and replaced. */
  heartbeat?: {
    /** Default true. */
    enabled?: boolean;
    /** Time between pings. Default 2000 ms. */
    intervalMs?: number;
    /** A ping not answered within this long is a miss. Default 10 000 ms. */
    timeoutMs?: number;
    /** Misses in a row that mean the worker is gone. Default 3. */
    maxMisses?: number;
  };
  /**
   * Replacing workers that died: with backoff, and within a budget. A worker that dies under a
   * call (a crash, or killed for missing heartbeats) is that call's fault: it is replaced at once
   * and does not count, so a few bad requests cannot fail the pool. The budget counts workers
   * that die idle and replacements that fail to start.
   */
  restart?: {
    /** More replacements than this within `windowMs` put the pool in the `failed` state. Default 10. */
    maxRestarts?: number;
    /** Default 60 000 ms. */
    windowMs?: number;
    /** Delay before the second replacement within the window; it doubles for each further one
     *  (with jitter), up to `maxBackoffMs`. The first replacement is immediate. Default 250 ms. */
    backoffMs?: number;
    /** Default 30 000 ms. */
    maxBackoffMs?: number;
    /** A failed pool tries to start again after this long. Default 60 000 ms. */
    cooldownMs?: number;
    /** A tool under which this many workers died within `windowMs` is reported as poison: the
     *  event snakepit.tool.poisonSuspected and stats().poisonTools. Default 3. */
    poisonCrashes?: number;
  };
  /** Replacing healthy workers before they age: after the call they are running, never during it. */
  recycle?: {
    /** Replace a worker this long after it became ready. Default: never. */
    workerTtlMs?: number;
    /** Replace a worker after this many calls. Default: never. */
    maxRequestsPerWorker?: number;
    /** Replace a worker whose resident memory (RSS) exceeds this many MiB, sampled every
     *  heartbeat.intervalMs. Default: never. */
    memoryLimitMb?: number;
  };
  /** Large buffers through shared memory instead of inside gRPC messages (README, "Data"). */
  sharedMemory?: {
    /** Default true. False: every buffer travels inside messages (maxMessageBytes applies). */
    enabled?: boolean;
    /** Buffers of at least this many bytes go through a shared-memory segment. Default 65 536. */
    thresholdBytes?: number;
    /** What the pool's shared values (pool.share) may hold at once. Default 1 GiB. */
    budgetBytes?: number;
    /** The most one value (arguments, a result, a chunk) may hold in shared memory; a worker's
     *  value beyond it is refused before the host reads it. Default 4 GiB. */
    maxValueBytes?: number;
    /** A shared value not closed by then is closed; 0: never. Default 0. */
    shareTtlMs?: number;
  };
  /** What happens after a worker dies in the middle of a call. */
  crashBarrier?: {
    /** Default true. When false, no worker is tainted and no call is retried. */
    enabled?: boolean;
    /** The replacement of a worker that died mid-call gets no work for this long. Default 2000 ms. */
    taintMs?: number;
    /** How often a call marked `{ idempotent: true }` is retried on another worker. Default 2. */
    maxRetries?: number;
    /** Delay before the first retry; it doubles for each further one (with jitter). Default 50 ms. */
    retryBackoffMs?: number;
  };
}

/**
 * - `hint`: the session's last worker when it is idle, else any idle worker (the session moves).
 * - `strictQueue`: always the session's last worker; wait in the queue for it.
 * - `strictFailFast`: always the session's last worker; WorkerBusyError when it is busy.
 * In the strict modes a session whose worker is gone gets SessionWorkerUnavailableError.
 */
export const AFFINITY_MODES = ['hint', 'strictQueue', 'strictFailFast'] as const;
export type AffinityMode = (typeof AFFINITY_MODES)[number];

export type WorkerProfile = 'process' | 'thread';

export type PythonLogLevel = 'verbose' | 'debug' | 'log' | 'warn' | 'error' | 'off';

export interface NamedPoolOptions extends Partial<PoolOptions> {
  /** Pool name, used as `{ pool: name }` in calls. */
  name: string;
}

export interface SnakepitModuleOptions extends Partial<PoolOptions> {
  /** Several pools; the top-level pool options become their defaults. */
  pools?: NamedPoolOptions[];
  /** Names this application's workers in the process registry: at boot, workers left behind by
   *  an earlier run of the same instance (after a crash or kill -9 of the host) are killed.
   *  Applications with different names never touch each other's workers. Default "default". */
  instanceName?: string;
  /** Where the process registry lives (relative: from `projectRoot`). Default: "snakepit-<uid>" in the OS temp dir. */
  runtimeDir?: string;
  /** Where the run's shared-memory directory is made (relative: from `projectRoot`). Default:
   *  /dev/shm on Linux, else the OS temp dir. */
  sharedMemoryDir?: string;
  /** What relative paths in these options resolve against (pythonPath, python.venvDir, a relative
   *  interpreter, runtimeDir), and where `snakepit setup` recorded the interpreter
   *  (.snakepit/python). Default: the nearest directory with a package.json above the entry
   *  script (`node dist/main.js` → the app's root, whatever the current directory). */
  projectRoot?: string;
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
  /**
   * Sessions and what they may hold. Everything a client can put in a session is bounded: a
   * state value, the keys and bytes of one session, its metadata, its TTL, and (in the default
   * in-memory store) all sessions together. Going over a limit fails with SessionQuotaError
   * (per session) or SessionStoreFullError (the whole store); nothing is stored.
   */
  sessions?: {
    /** A session not used for this long expires. Default 3 600 000 ms (1 h). */
    ttlMs?: number;
    /** The longest TTL a caller may ask for in create(). Default 86 400 000 ms (24 h). */
    maxTtlMs?: number;
    /** Sessions alive at once; creating one more fails with SessionLimitError. Default 100 000. */
    maxSessions?: number;
    /** How often expired sessions are removed. Default 60 000 ms. */
    sweepIntervalMs?: number;
    /** The largest state value, as JSON (UTF-8 bytes). Default 1 048 576 (1 MiB). */
    maxValueBytes?: number;
    /** State keys in one session. Default 1000. */
    maxKeys?: number;
    /** All of one session: its metadata, state keys and values. Default 8 388 608 (8 MiB). */
    maxSessionBytes?: number;
    /** A session's metadata, as JSON. Default 16 384 (16 KiB). */
    maxMetadataBytes?: number;
    /** All sessions together, in the default in-memory store (a store of your own keeps its own
     *  bounds). Default 268 435 456 (256 MiB). */
    maxTotalBytes?: number;
    /** Where sessions and their state live. Default: in this process's memory. */
    store?: SessionStore;
  };
  bridge?: {
    /** How workers reach the host: a Unix socket (mode 0600) in a private (0700) directory of
     *  the OS temp dir, or loopback TCP on an OS-chosen port. Default "unix" ("tcp" on Windows). */
    transport?: 'tcp' | 'unix';
  };
  workers?: {
    /** How the host reaches its workers: each on a Unix socket in one private (0700) directory,
     *  or on a loopback TCP port. Either way every call carries the worker's secret. Default
     *  "unix" ("tcp" on Windows). */
    transport?: 'tcp' | 'unix';
    /** How worker processes start: "fork", from a template process per pool that imported the
     *  bridge and the adapter's module once (and ran the adapter's `preload`), or "spawn", a
     *  fresh interpreter each. Off Linux, or where a pool's template
     *  cannot start, that pool spawns, with a warning. Default "fork" on Linux, "spawn" elsewhere. */
    start?: WorkerStart;
  };
}

/** How worker processes start (`workers.start`). */
export const WORKER_START_MODES = ['fork', 'spawn'] as const;
export type WorkerStart = (typeof WORKER_START_MODES)[number];
