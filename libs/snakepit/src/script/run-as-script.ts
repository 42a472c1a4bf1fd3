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
  let signalled: NodeJS.Signals | undefined;
  const close = () => (closing ??= app?.close() ?? Promise.resolve());
  /** After a signal: stop the pool at once, close, and exit with the signal's code. */
  const stopForSignal = (signal: NodeJS.Signals) => {
    const code = SIGNAL_EXIT_CODES[signal] ?? 1;
    process.exitCode = code;
    const now = app!.get(PoolService).close({ graceMs: 0, killTimeoutMs: SIGNAL_KILL_TIMEOUT_MS });
    closing = now.then(() => app!.close());
    void closing.finally(() => process.exit(code));
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = signal;
    logger.warn(`${signal}: stopping the pool`);
    if (app) stopForSignal(signal); // else: as soon as the context exists (it may be booting)
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const module = isModule(target) ? target : SnakepitModule.forRoot(target);
    app = await NestFactory.createApplicationContext(module, { logger: options.logger ?? ['error', 'warn'] });
    if (signalled) {
      stopForSignal(signalled);
      return await new Promise<never>(() => undefined); // the process exits once the pool is closed
    }
    const pool = app.get(PoolService);
    await pool.ready();
    const result = await main(pool, app);
    process.exitCode ??= 0;
    return result;
  } catch (error) {
    if (!signalled) {
      logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
      process.exitCode = 1;
    } else if (!app) {
      process.exitCode = SIGNAL_EXIT_CODES[signalled] ?? 1; // the boot failed after the signal
    }
    return undefined;
  } finally {
    if (!signalled) await close(); // a signal closes and exits by itself
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
