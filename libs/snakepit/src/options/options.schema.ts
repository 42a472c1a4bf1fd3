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

/** Python "package.module:Class" or "package.module.Class". */
export const ADAPTER_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*[:.][A-Za-z_][A-Za-z0-9_]*$/;
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

/** Validation rules of the pool options, shared by the top level and each `pools` entry. */
class PoolOptionsSchema {
  @IsOptional()
  @IsString()
  @Matches(ADAPTER_PATTERN, { message: 'adapter must look like "package.module:ClassName"' })
  adapter?: string;

  @IsOptional() @IsInt() @Min(1) @Max(1024) poolSize?: number;
  @IsOptional() @IsString() @MinLength(1) pythonExecutable?: string;
  @IsOptional() @IsArray() @IsString({ each: true }) pythonPath?: string[];
  @IsOptional() @IsObject() env?: Record<string, string>;
  @IsOptional() @IsInt() @Min(1) startupConcurrency?: number;
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TIMER_MS) startupTimeoutMs?: number;
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TIMER_MS) requestTimeoutMs?: number;
  @IsOptional() @IsInt() @Min(0) @Max(MAX_TIMER_MS) cancelGraceMs?: number;
  @IsOptional() @IsInt() @Min(MIN_MESSAGE_BYTES) @Max(MAX_MESSAGE_BYTES_LIMIT) maxMessageBytes?: number;

  @IsOptional() @IsObject() @ValidateNested() @Type(() => QueueOptionsSchema) queue?: QueueOptionsSchema;
  @IsOptional() @IsIn(['hint', 'strictQueue', 'strictFailFast']) affinity?: string;
}

class SessionOptionsSchema {
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TIMER_MS) ttlMs?: number;
  @IsOptional() @IsInt() @Min(1) maxSessions?: number;
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TIMER_MS) sweepIntervalMs?: number;
  @IsOptional() @IsObject() store?: object;
}

class BridgeOptionsSchema {
  @IsOptional() @IsIn(['tcp', 'unix']) transport?: string;
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
  @IsOptional() @IsObject() @ValidateNested() @Type(() => BridgeOptionsSchema) bridge?: BridgeOptionsSchema;
}
