import { availableParallelism, tmpdir, userInfo } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { validationProblems } from '../validation/validation-problems';
import { SnakepitConfigError } from '../errors';
import { ModuleOptionsSchema } from './options.schema';
import { findProjectRoot, inProject } from '../python/project-root';
import { choosePython, describePython, type BridgeSource } from '../python/python-runtime';
import { InMemorySessionStore } from '../session/in-memory-session.store';
import type { SessionStore } from '../session/session-store';
import type {
  AffinityMode,
  NamedPoolOptions,
  PoolOptions,
  PythonLogLevel,
  SnakepitModuleOptions,
  WorkerProfile,
  WorkerStart,
} from './snakepit-options.interface';

/** One pool's options with every default filled in. */
export interface PoolConfig {
  name: string;
  adapter: string;
  poolSize: number;
  workerProfile: WorkerProfile;
  /** Calls one worker runs at once: 1 in the process profile, threadsPerWorker in the thread profile. */
  concurrentCalls: number;
  /** Calls a busy worker may hold waiting beyond concurrentCalls (prefetchPerWorker). */
  prefetch: number;
  pythonExecutable: string;
  /** The interpreter's full path and how it was chosen, for start errors. */
  pythonDescription: string;
  bridge: BridgeSource;
  /** Absolute directories. */
  pythonPath: string[];
  env: Record<string, string>;
  startupConcurrency: number;
  startupTimeoutMs: number;
  requestTimeoutMs: number;
  queueMaxSize: number;
  queueTimeoutMs: number;
  cancelGraceMs: number;
  streamIdleTimeoutMs: number;
  maxMessageBytes: number;
  /** Arguments are checked against the tools' schemas unless a call says otherwise. */
  validateArguments: boolean;
  affinity: AffinityMode;
  pythonLogLevel: PythonLogLevel;
  heartbeat: { enabled: boolean; intervalMs: number; timeoutMs: number; maxMisses: number };
  restart: { maxRestarts: number; windowMs: number; backoffMs: number; maxBackoffMs: number; cooldownMs: number; poisonCrashes: number };
  /** Unset limits are off. */
  recycle: { workerTtlMs?: number; maxRequestsPerWorker?: number; memoryLimitMb?: number };
  crashBarrier: { enabled: boolean; taintMs: number; maxRetries: number; retryBackoffMs: number };
  /** thresholdBytes is Infinity when shared memory is off. */
  sharedMemory: { thresholdBytes: number; budgetBytes: number; maxValueBytes: number; shareTtlMs: number };
}

export interface ResolvedOptions {
  pools: PoolConfig[];
  shutdownGraceMs: number;
  killTimeoutMs: number;
  waitForReady: boolean;
  poolingEnabled: boolean;
  sessions: SessionSettings & { sweepIntervalMs: number; store: SessionStore };
  bridge: { transport: 'tcp' | 'unix' };
  workers: { transport: 'tcp' | 'unix'; start: WorkerStart };
  /** What relative paths resolve against (see findProjectRoot). */
  projectRoot: string;
  /** The process registry: `<runtimeDir>/<instanceName>/<runId>.json`. */
  instanceName: string;
  runtimeDir: string;
  /** Where the run's shared-memory directory goes; undefined: /dev/shm, else the temp dir. */
  sharedMemoryDir?: string;
}

/** Option groups of a pool that a `pools` entry merges field by field over the top-level ones. */
const NESTED_POOL_GROUPS = ['queue', 'heartbeat', 'restart', 'recycle', 'crashBarrier', 'python', 'sharedMemory'] as const;

export const DEFAULT_POOL_NAME = 'default';
/** Unix sockets in private directories, where the platform has them. */
const DEFAULT_TRANSPORT = process.platform === 'win32' ? 'tcp' : 'unix';
const DEFAULT_THREADS_PER_WORKER = 4;
/** Forked from a template on Linux; spawned elsewhere. */
const DEFAULT_WORKER_START: WorkerStart = process.platform === 'linux' ? 'fork' : 'spawn';

const POOL_DEFAULTS = {
  startupConcurrency: 8,
  startupTimeoutMs: 30_000,
  requestTimeoutMs: 60_000,
  queueMaxSize: 1000,
  queueTimeoutMs: 10_000,
  cancelGraceMs: 1000,
  streamIdleTimeoutMs: 30_000,
  maxMessageBytes: 64 * 1024 * 1024,
  heartbeat: { enabled: true, intervalMs: 2000, timeoutMs: 10_000, maxMisses: 3 },
  restart: { maxRestarts: 10, windowMs: 60_000, backoffMs: 250, maxBackoffMs: 30_000, cooldownMs: 60_000, poisonCrashes: 3 },
  crashBarrier: { enabled: true, taintMs: 2000, maxRetries: 2, retryBackoffMs: 50 },
  sharedMemory: { thresholdBytes: 64 * 1024, budgetBytes: 1024 * 1024 * 1024, maxValueBytes: 4 * 1024 * 1024 * 1024, shareTtlMs: 0 },
};

/**
 * Validates the module options and fills in defaults.
 * Throws one SnakepitConfigError that names every bad field.
 */
export function resolveOptions(raw: unknown, env: NodeJS.ProcessEnv = process.env, defaultRoot = findProjectRoot(process.argv[1])): ResolvedOptions {
  const problems = validateShape(raw);
  if (problems.length) throw new SnakepitConfigError(problems);
  const options = raw as SnakepitModuleOptions;

  const entries: NamedPoolOptions[] = options.pools?.length
    ? options.pools.map((pool) => withNestedDefaults(options, pool))
    : [{ ...options, name: DEFAULT_POOL_NAME }];
  problems.push(...crossFieldProblems(options, entries));
  if (problems.length) throw new SnakepitConfigError(problems);
  const projectRoot = resolvePath(options.projectRoot ?? defaultRoot);

  return {
    pools: entries.map((entry) => poolConfig(entry as NamedPoolOptions & PoolOptions, env, projectRoot)),
    shutdownGraceMs: options.shutdown?.graceMs ?? 5000,
    killTimeoutMs: options.shutdown?.killTimeoutMs ?? 2000,
    waitForReady: options.waitForReady ?? false,
    poolingEnabled: options.poolingEnabled ?? true,
    sessions: sessionSettings(options.sessions),
    bridge: { transport: options.bridge?.transport ?? DEFAULT_TRANSPORT },
    workers: { transport: options.workers?.transport ?? DEFAULT_TRANSPORT, start: options.workers?.start ?? DEFAULT_WORKER_START },
    projectRoot,
    instanceName: options.instanceName ?? 'default',
    runtimeDir: options.runtimeDir ? inProject(projectRoot, options.runtimeDir) : defaultRuntimeDir(),
    sharedMemoryDir: options.sharedMemoryDir ? inProject(projectRoot, options.sharedMemoryDir) : undefined,
  };
}

function defaultRuntimeDir(): string {
  const user = process.getuid?.() ?? userInfo().username;
  return join(tmpdir(), `snakepit-${user}`);
}

/** A `pools` entry over the top-level options, nested groups merged field by field. */
function withNestedDefaults(options: SnakepitModuleOptions, pool: NamedPoolOptions): NamedPoolOptions {
  const merged: Record<string, unknown> = { ...options, ...pool };
  for (const group of NESTED_POOL_GROUPS) merged[group] = { ...options[group], ...pool[group] };
  return merged as unknown as NamedPoolOptions;
}

function validateShape(raw: unknown): string[] {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return ['options must be an object, e.g. { adapter: "my_pkg.adapter:MyAdapter" }'];
  }
  // A store is the application's own object (a Redis client inside it): checked for its
  // methods, never copied field by field into the schema.
  const { sessions, ...rest } = raw as SnakepitModuleOptions;
  const plainSessions = sessions !== null && typeof sessions === 'object' && !Array.isArray(sessions);
  const { store, ...sessionLimits } = plainSessions ? sessions : { store: undefined };
  const instance = plainToInstance(ModuleOptionsSchema, plainSessions ? { ...rest, sessions: sessionLimits } : raw);
  const errors = validateSync(instance, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: false });
  return [...validationProblems(errors, 'option'), ...storeProblems(store)];
}

const STORE_METHODS = ['create', 'get', 'touch', 'delete', 'list', 'size', 'getState', 'setState', 'deleteState', 'sweep'] as const;

function storeProblems(store: unknown): string[] {
  if (store === undefined || store === null) return []; // the default store
  const missing = store !== null && typeof store === 'object' ? STORE_METHODS.filter((name) => typeof (store as Record<string, unknown>)[name] !== 'function') : STORE_METHODS;
  return missing.length ? [`sessions.store must be a SessionStore (it lacks ${missing.join(', ')})`] : [];
}

function crossFieldProblems(options: SnakepitModuleOptions, entries: NamedPoolOptions[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  entries.forEach((entry, index) => {
    const where = options.pools?.length ? `pools[${index}]` : '';
    if (!entry.adapter) {
      problems.push(`${where ? `${where}.` : ''}adapter is required (e.g. "my_pkg.adapter:MyAdapter")`);
    }
    if (seen.has(entry.name)) problems.push(`${where}.name "${entry.name}" is used by another pool`);
    seen.add(entry.name);
    if (entry.threadsPerWorker !== undefined && entry.workerProfile !== 'thread') {
      problems.push(`${where ? `${where}.` : ''}threadsPerWorker needs workerProfile: 'thread' (the process profile runs one call per worker)`);
    }
    const restart = { ...POOL_DEFAULTS.restart, ...definedFields(entry.restart) };
    if (restart.maxBackoffMs < restart.backoffMs) {
      problems.push(`${where ? `${where}.` : ''}restart.maxBackoffMs (${restart.maxBackoffMs}) must not be less than restart.backoffMs (${restart.backoffMs})`);
    }
    for (const [key, value] of Object.entries(entry.env ?? {})) {
      if (typeof value !== 'string') problems.push(`${where ? `${where}.` : ''}env.${key} must be a string`);
    }
  });
  const sessions = sessionFields(options.sessions);
  if (sessions.ttlMs > sessions.maxTtlMs) problems.push(`sessions.ttlMs (${sessions.ttlMs}) must not be more than sessions.maxTtlMs (${sessions.maxTtlMs})`);
  for (const field of ['maxValueBytes', 'maxMetadataBytes'] as const) {
    if (sessions[field] > sessions.maxSessionBytes) {
      problems.push(`sessions.${field} (${sessions[field]}) must not be more than sessions.maxSessionBytes (${sessions.maxSessionBytes})`);
    }
  }
  return problems;
}

/** The session limits, as SessionService and the stores enforce them. */
export interface SessionSettings {
  ttlMs: number;
  maxTtlMs: number;
  maxSessions: number;
  maxValueBytes: number;
  maxKeys: number;
  maxSessionBytes: number;
  maxMetadataBytes: number;
  maxTotalBytes: number;
}

const SESSION_DEFAULTS: SessionSettings & { sweepIntervalMs: number } = {
  ttlMs: 3_600_000,
  maxTtlMs: 86_400_000,
  maxSessions: 100_000,
  sweepIntervalMs: 60_000,
  maxValueBytes: 1024 * 1024,
  maxKeys: 1000,
  maxSessionBytes: 8 * 1024 * 1024,
  maxMetadataBytes: 16 * 1024,
  maxTotalBytes: 256 * 1024 * 1024,
};

/** The session options given, over the defaults. */
function sessionFields(options: SnakepitModuleOptions['sessions']) {
  return { ...SESSION_DEFAULTS, ...definedFields(options) } as typeof SESSION_DEFAULTS & { store?: SessionStore };
}

function sessionSettings(options: SnakepitModuleOptions['sessions']): ResolvedOptions['sessions'] {
  const { store, ...limits } = sessionFields(options);
  return { ...limits, store: store ?? new InMemorySessionStore({ maxTotalBytes: limits.maxTotalBytes }) }; // null: the default too
}

function poolConfig(entry: NamedPoolOptions & PoolOptions, env: NodeJS.ProcessEnv, projectRoot: string): PoolConfig {
  const python = choosePython(entry, env, projectRoot);
  return {
    name: entry.name,
    adapter: entry.adapter,
    poolSize: entry.poolSize ?? availableParallelism(),
    workerProfile: entry.workerProfile ?? 'process',
    concurrentCalls: entry.workerProfile === 'thread' ? (entry.threadsPerWorker ?? DEFAULT_THREADS_PER_WORKER) : 1,
    prefetch: entry.prefetchPerWorker ?? 0,
    pythonExecutable: python.executable,
    pythonDescription: describePython(python, env),
    bridge: entry.python?.bridge ?? 'bundled',
    pythonPath: (entry.pythonPath ?? []).map((dir) => inProject(projectRoot, dir)),
    env: { ...(entry.env ?? {}) },
    startupConcurrency: entry.startupConcurrency ?? POOL_DEFAULTS.startupConcurrency,
    startupTimeoutMs: entry.startupTimeoutMs ?? POOL_DEFAULTS.startupTimeoutMs,
    requestTimeoutMs: entry.requestTimeoutMs ?? POOL_DEFAULTS.requestTimeoutMs,
    queueMaxSize: entry.queue?.maxSize ?? POOL_DEFAULTS.queueMaxSize,
    queueTimeoutMs: entry.queue?.timeoutMs ?? POOL_DEFAULTS.queueTimeoutMs,
    cancelGraceMs: entry.cancelGraceMs ?? POOL_DEFAULTS.cancelGraceMs,
    streamIdleTimeoutMs: entry.streamIdleTimeoutMs ?? POOL_DEFAULTS.streamIdleTimeoutMs,
    maxMessageBytes: entry.maxMessageBytes ?? POOL_DEFAULTS.maxMessageBytes,
    validateArguments: entry.validateArguments ?? true,
    affinity: entry.affinity ?? 'hint',
    pythonLogLevel: entry.pythonLogLevel ?? 'log',
    heartbeat: { ...POOL_DEFAULTS.heartbeat, ...definedFields(entry.heartbeat) },
    restart: { ...POOL_DEFAULTS.restart, ...definedFields(entry.restart) },
    recycle: definedFields(entry.recycle),
    crashBarrier: { ...POOL_DEFAULTS.crashBarrier, ...definedFields(entry.crashBarrier) },
    sharedMemory: sharedMemoryConfig(entry.sharedMemory),
  };
}

function sharedMemoryConfig(options: PoolOptions['sharedMemory']): PoolConfig['sharedMemory'] {
  const { enabled, ...rest } = definedFields(options);
  const config = { ...POOL_DEFAULTS.sharedMemory, ...rest };
  return enabled === false ? { ...config, thresholdBytes: Infinity } : config;
}

/** The fields that are set, so that `{ intervalMs: undefined }` keeps the default. */
function definedFields<T extends object>(group: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(group ?? {}).filter(([, value]) => value !== undefined)) as Partial<T>;
}
