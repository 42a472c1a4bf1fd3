import { resolve } from 'node:path';
import type { SnakepitModuleOptions } from '@snakepit/nestjs';

/** The sample app's settings, read from the environment. */
export interface SampleConfig {
  port: number;
  /** The address it listens on: loopback unless HOST says otherwise. */
  host: string;
  snakepit: SnakepitModuleOptions;
}

export function sampleConfigFromEnv(env: NodeJS.ProcessEnv = process.env): SampleConfig {
  // Numbers that do not parse are passed on as they are, so boot names the bad field.
  const number = (name: string) => (env[name] ? Number(env[name]) : undefined);
  const transport = env.SNAKEPIT_WORKER_TRANSPORT as 'unix' | 'tcp' | undefined;
  const start = env.SNAKEPIT_WORKER_START as 'fork' | 'spawn' | undefined;
  return {
    port: number('PORT') ?? 3000,
    host: env.HOST || '127.0.0.1',
    snakepit: {
      adapter: env.SNAKEPIT_ADAPTER || 'snakepit_showcase.adapter:ShowcaseAdapter',
      poolSize: number('SNAKEPIT_POOL_SIZE') ?? 2,
      pythonPath: (env.SNAKEPIT_PYTHON_PATH || '').split(':').filter(Boolean).map((dir) => resolve(dir)),
      ...(env.SNAKEPIT_PYTHON ? { pythonExecutable: env.SNAKEPIT_PYTHON } : {}),
      shutdown: { graceMs: number('SNAKEPIT_SHUTDOWN_GRACE_MS'), killTimeoutMs: number('SNAKEPIT_KILL_TIMEOUT_MS') },
      prefetchPerWorker: number('SNAKEPIT_PREFETCH'),
      workers: { transport, start },
      ...(transport ? { bridge: { transport } } : {}),
    },
  };
}
