import { Logger, type DynamicModule, type INestApplicationContext, type LogLevel, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { SnakepitModuleOptions } from '../options/snakepit-options.interface';
import { PoolService } from '../pool/pool.service';
import { SnakepitModule } from '../snakepit.module';

export interface ScriptOptions {
  /** Nest's log levels for the script's context. Default: errors and warnings. */
  logger?: LogLevel[] | false;
}

/** On a signal the pool stops at once: running calls are cut off after this long. */
const SIGNAL_KILL_TIMEOUT_MS = 500;
/** Exit codes after a signal, as shells report them. */
const SIGNAL_EXIT_CODES: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };

function isModule(target: unknown): target is Type<unknown> | DynamicModule {
  return typeof target === 'function' || (typeof target === 'object' && target !== null && 'module' in target);
}

/**
 * Runs `main` against a pool from a plain Node script: boots a standalone Nest application
 * context (from module options, or from your own module that imports SnakepitModule), waits
 * for the pool, runs `main`, and always closes the context, so no worker is left behind.
 * Sets `process.exitCode`: 0 when `main` resolves, 1 when it throws (the error is printed).
 * SIGINT and SIGTERM stop the pool at once (running calls are cut off) and exit with 130 and 143.
 */
export async function runAsScript<T>(
  target: SnakepitModuleOptions | Type<unknown> | DynamicModule,
  main: (pool: PoolService, app: INestApplicationContext) => Promise<T> | T,
  options: ScriptOptions = {},
): Promise<T | undefined> {
  const logger = new Logger('Snakepit:script');
  let app: INestApplicationContext | undefined;
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= app?.close() ?? Promise.resolve());
  const onSignal = (signal: NodeJS.Signals) => {
    const code = SIGNAL_EXIT_CODES[signal] ?? 1;
    process.exitCode = code;
    logger.warn(`${signal}: stopping the pool`);
    const now = app?.get(PoolService).close({ graceMs: 0, killTimeoutMs: SIGNAL_KILL_TIMEOUT_MS }) ?? Promise.resolve();
    closing ??= now.then(() => app?.close());
    void closing.finally(() => process.exit(code));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const module = isModule(target) ? target : SnakepitModule.forRoot(target);
    app = await NestFactory.createApplicationContext(module, { logger: options.logger ?? ['error', 'warn'] });
    const pool = app.get(PoolService);
    await pool.ready();
    const result = await main(pool, app);
    process.exitCode ??= 0;
    return result;
  } catch (error) {
    if (!closing) {
      logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
      process.exitCode = 1;
    }
    return undefined;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await close();
  }
}
