import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { AFFINITY_MODES, WORKER_START_MODES } from './snakepit-options.interface';

/** Python "package.module:Class" or "package.module.Class". */
export const ADAPTER_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*[:.][A-Za-z_][A-Za-z0-9_]*$/;
/** It names a directory, so no separators and no dot-files. */
export const INSTANCE_NAME_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;
export const POOL_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const MAX_MESSAGE_BYTES_LIMIT = 2 ** 31 - 1;
/** The longest delay a Node timer can hold (about 24.8 days); longer ones would fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
const MIN_MESSAGE_BYTES = 64 * 1024;

class QueueOptionsSchema {
  @IsOptional() @IsInt() @Min(0) maxSize?: number;
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TIMER_MS) timeoutMs?: number;
}

class ShutdownOptionsSchema {
  @IsOptional() @IsInt() @Min(0) @Max(MAX_TIMER_MS) graceMs?: number;
  @IsOptional() @IsInt() @Min(0) @Max(MAX_TIMER_MS) killTimeoutMs?: number;
}

class PythonOptionsSchema {
  @IsOptional() @IsIn(['system', 'venv', 'uv']) strategy?: string;
  @IsOptional() @IsString() @MinLength(1) executable?: string;
  @IsOptional() @IsString() @MinLength(1) venvDir?: string;
  @IsOptional() @IsIn(['bundled', 'installed']) bridge?: string;
}

class HeartbeatOptionsSchema {
  @IsOptional() @IsBoolean() enabled?: boolean;
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TIMER_MS) intervalMs?: number;
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TIMER_MS) timeoutMs?: number;
  @IsOptional() @IsInt() @Min(1) maxMisses?: number;
}

class RestartOptionsSchema {
  @IsOptional() @IsInt() @Min(0) maxRestarts?: number;
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TIMER_MS) windowMs?: number;
  @IsOptional() @IsInt() @Min(0) @Max(MAX_TIMER_MS) backoffMs?: number;
  @IsOptional() @IsInt() @Min(0) @Max(MAX_TIMER_MS) maxBackoffMs?: number;
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TIMER_MS) cooldownMs?: number;
  @IsOptional() @IsInt() @Min(1) poisonCrashes?: number;
}

class RecycleOptionsSchema {
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TIMER_MS) workerTtlMs?: number;
  @IsOptional() @IsInt() @Min(1) maxRequestsPerWorker?: number;
  @IsOptional() @IsInt() @Min(1) memoryLimitMb?: number;
}

class CrashBarrierOptionsSchema {
  @IsOptional() @IsBoolean() enabled?: boolean;
  @IsOptional() @IsInt() @Min(0) @Max(MAX_TIMER_MS) taintMs?: number;
  @IsOptional() @IsInt() @Min(0) @Max(100) maxRetries?: number;
  @IsOptional() @IsInt() @Min(0) @Max(MAX_TIMER_MS) retryBackoffMs?: number;
}

class SharedMemoryOptionsSchema {
  @IsOptional() @IsBoolean() enabled?: boolean;
  @IsOptional() @IsInt() @Min(1) thresholdBytes?: number;
  @IsOptional() @IsInt() @Min(0) budgetBytes?: number;
  @IsOptional() @IsInt() @Min(1) maxValueBytes?: number;
  @IsOptional() @IsInt() @Min(0) @Max(MAX_TIMER_MS) shareTtlMs?: number;
}

/** Validation rules of the pool options, shared by the top level and each `pools` entry. */
class PoolOptionsSchema {
  @IsOptional()
  @IsString()
  @Matches(ADAPTER_PATTERN, { message: 'adapter must look like "package.module:ClassName"' })
  adapter?: string;

  @IsOptional() @IsInt() @Min(1) @Max(1024) poolSize?: number;
  @IsOptional() @IsIn(['process', 'thread']) workerProfile?: string;
  @IsOptional() @IsInt() @Min(1) @Max(256) threadsPerWorker?: number;
  @IsOptional() @IsInt() @Min(0) @Max(64) prefetchPerWorker?: number;
  @IsOptional() @IsString() @MinLength(1) pythonExecutable?: string;
  @IsOptional() @IsObject() @ValidateNested() @Type(() => PythonOptionsSchema) python?: PythonOptionsSchema;
  @IsOptional() @IsArray() @IsString({ each: true }) pythonPath?: string[];
  @IsOptional() @IsObject() env?: Record<string, string>;
  @IsOptional() @IsInt() @Min(1) startupConcurrency?: number;
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TIMER_MS) startupTimeoutMs?: number;
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TIMER_MS) requestTimeoutMs?: number;
  @IsOptional() @IsInt() @Min(0) @Max(MAX_TIMER_MS) cancelGraceMs?: number;
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TIMER_MS) streamIdleTimeoutMs?: number;
  @IsOptional() @IsInt() @Min(MIN_MESSAGE_BYTES) @Max(MAX_MESSAGE_BYTES_LIMIT) maxMessageBytes?: number;
  @IsOptional() @IsBoolean() validateArguments?: boolean;

  @IsOptional() @IsObject() @ValidateNested() @Type(() => QueueOptionsSchema) queue?: QueueOptionsSchema;
  @IsOptional() @IsIn([...AFFINITY_MODES]) affinity?: string;
  @IsOptional() @IsIn(['verbose', 'debug', 'log', 'warn', 'error', 'off']) pythonLogLevel?: string;
  @IsOptional() @IsObject() @ValidateNested() @Type(() => HeartbeatOptionsSchema) heartbeat?: HeartbeatOptionsSchema;
  @IsOptional() @IsObject() @ValidateNested() @Type(() => RestartOptionsSchema) restart?: RestartOptionsSchema;
  @IsOptional() @IsObject() @ValidateNested() @Type(() => RecycleOptionsSchema) recycle?: RecycleOptionsSchema;
  @IsOptional() @IsObject() @ValidateNested() @Type(() => CrashBarrierOptionsSchema) crashBarrier?: CrashBarrierOptionsSchema;
  @IsOptional() @IsObject() @ValidateNested() @Type(() => SharedMemoryOptionsSchema) sharedMemory?: SharedMemoryOptionsSchema;
}

class SessionOptionsSchema {
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TIMER_MS) ttlMs?: number;
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TIMER_MS) maxTtlMs?: number;
  @IsOptional() @IsInt() @Min(1) maxSessions?: number;
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TIMER_MS) sweepIntervalMs?: number;
  @IsOptional() @IsInt() @Min(1) maxValueBytes?: number;
  @IsOptional() @IsInt() @Min(1) maxKeys?: number;
  @IsOptional() @IsInt() @Min(1) maxSessionBytes?: number;
  @IsOptional() @IsInt() @Min(2) maxMetadataBytes?: number;
  @IsOptional() @IsInt() @Min(1) maxTotalBytes?: number;
  // sessions.store is checked apart (resolve-options.ts, storeProblems): it is the app's own object.
}

class TransportOptionsSchema {
  @IsOptional() @IsIn(['tcp', 'unix']) transport?: string;
}

class WorkersOptionsSchema extends TransportOptionsSchema {
  @IsOptional() @IsIn([...WORKER_START_MODES]) start?: string;
}

class NamedPoolOptionsSchema extends PoolOptionsSchema {
  @IsString()
  @Matches(POOL_NAME_PATTERN, { message: 'name must start with a letter and hold only letters, digits, "_" or "-" (64 at most)' })
  name: string;
}

export class ModuleOptionsSchema extends PoolOptionsSchema {
  @IsOptional() @IsArray() @ValidateNested({ each: true }) @Type(() => NamedPoolOptionsSchema) pools?: NamedPoolOptionsSchema[];
  @IsOptional() @IsObject() @ValidateNested() @Type(() => ShutdownOptionsSchema) shutdown?: ShutdownOptionsSchema;
  @IsOptional() @IsBoolean() waitForReady?: boolean;
  @IsOptional() @IsBoolean() poolingEnabled?: boolean;
  @IsOptional() @IsObject() @ValidateNested() @Type(() => SessionOptionsSchema) sessions?: SessionOptionsSchema;
  @IsOptional() @IsObject() @ValidateNested() @Type(() => TransportOptionsSchema) bridge?: TransportOptionsSchema;
  @IsOptional() @IsObject() @ValidateNested() @Type(() => WorkersOptionsSchema) workers?: WorkersOptionsSchema;
  @IsOptional()
  @IsString()
  @Matches(INSTANCE_NAME_PATTERN, { message: 'instanceName must hold only letters, digits, ".", "_" or "-" (1 to 64, not starting with ".")' })
  instanceName?: string;
  @IsOptional() @IsString() @MinLength(1) runtimeDir?: string;
  @IsOptional() @IsString() @MinLength(1) sharedMemoryDir?: string;
  @IsOptional() @IsString() @MinLength(1) projectRoot?: string;
}
