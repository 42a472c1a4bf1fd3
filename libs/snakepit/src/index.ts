export { SnakepitModule } from './snakepit.module';
export type { SnakepitModuleAsyncOptions } from './snakepit.module-definition';
export type {
  AffinityMode,
  NamedPoolOptions,
  PoolOptions,
  PythonLogLevel,
  SnakepitModuleOptions,
  WorkerProfile,
  WorkerStart,
} from './options/snakepit-options.interface';
export { PoolService } from './pool/pool.service';
export { BoundPool } from './pool/bound-pool';
export type { OpenTools, ToolContract, ToolMap } from './pool/tool-map';
export { InjectPool, poolToken } from './pool/inject-pool';
export { runAsScript, type ScriptOptions } from './script/run-as-script';
export type { StreamChunk } from './pool/chunk-stream';
export type { ExecuteOptions, PoolLoad, PoolStats, PoolStatus, SessionExecuteOptions } from './pool/pool.types';
export { SessionService, type SessionInfo, type SessionStats } from './session/session.service';
export type { AccessTime, SessionLimits, SessionLookup, SessionRecord, SessionStore, StateValue } from './session/session-store';
export { InMemorySessionStore } from './session/in-memory-session.store';
export { RedisSessionStore, type RedisEvalClient, type RedisSessionStoreOptions } from './session/redis-session.store';
export { ToolRegistryService } from './tools/tool-registry.service';
export { SnakepitTool } from './tools/snakepit-tool.decorator';
export type { HostToolContext, HostToolHandler, HostToolInfo, HostToolOptions } from './tools/host-tool.types';
export { SnakepitEvents } from './telemetry/snakepit-events';
export { SnakepitEvent, type SnakepitEventName } from './telemetry/events';
export type { PythonToolInfo, StopReason, WorkerInfo, WorkerState } from './pool/worker';
export type { JsonSchema, ToolSchemas } from './pool/worker.types';
export type { RecycleReason } from './supervision/recycle-policy';
export type { PoisonTool } from './supervision/poison-detector';
export { MAX_JSON_DEPTH } from './bridge/strict-json';
export { NdArray, ndarray, type DType, type TypedArray } from './data/nd-array';
export { SharedValue, type SharedValueStats, type ShareOptions } from './pool/shared-values';
export * from './errors';
export * from './python/python-packages';
export {
  choosePython,
  describePython,
  type BridgeSource,
  type PythonChoice,
  type PythonRuntimeOptions,
  type PythonSource,
  type PythonStrategy,
} from './python/python-runtime';
export { findProjectRoot } from './python/project-root';
export { SNAKEPIT_VERSION } from './version';
