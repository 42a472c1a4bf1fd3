export { SnakepitModule } from './snakepit.module';
export type { SnakepitModuleAsyncOptions } from './snakepit.module-definition';
export type { NamedPoolOptions, PoolOptions, SnakepitModuleOptions } from './options/snakepit-options.interface';
export { PoolService } from './pool/pool.service';
export type { ExecuteOptions, PoolStats, PoolStatus } from './pool/pool.types';
export type { PythonToolInfo, WorkerInfo, WorkerState } from './pool/worker';
export * from './errors';
