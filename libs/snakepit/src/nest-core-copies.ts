import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Logger } from '@nestjs/common';

/** Where `@nestjs/core` resolves from a file: its package.json, real path. */
function nestCoreFrom(file: string): string | undefined {
  try {
    return realpathSync(createRequire(file).resolve('@nestjs/core/package.json'));
  } catch {
    return undefined;
  }
}

/**
 * The two copies of @nestjs/core when the app's entry script and this library resolve different
 * ones (the library installed as a link to a checkout that has its own node_modules), else
 * undefined. Nest's dependency injection cannot work across two copies.
 */
export function secondNestCore(entry: string | undefined = process.argv[1], library: string = __filename): { app: string; library: string } | undefined {
  // A test runner or process manager started the app from its own package: its view says nothing.
  if (!entry || /[\\/]node_modules[\\/]/.test(entry)) return undefined;
  const app = nestCoreFrom(entry);
  const own = nestCoreFrom(library);
  return app && own && app !== own ? { app, library: own } : undefined;
}

let warned = false;

/** Says so, once, before Nest fails with "Nest can't resolve dependencies of …". */
export function warnOnSecondNestCore(): void {
  if (warned) return;
  warned = true;
  const copies = secondNestCore();
  if (!copies) return;
  new Logger('Snakepit').warn(
    `two copies of @nestjs/core are loaded: the app's (${copies.app}) and the one @snakepit/nestjs sees (${copies.library}). ` +
      "Nest's dependency injection then fails (\"Nest can't resolve dependencies of …\"). Install @snakepit/nestjs from its " +
      'tarball or the registry, not as a link to a checkout (npm link, file:, a directory).',
  );
}
