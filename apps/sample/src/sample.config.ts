import { resolve } from 'node:path';
import type { SnakepitModuleOptions } from '@snakepit/nestjs';

/** The sample app's settings, read from the environment. */
export interface SampleConfig {
  port: number;
  /** The address it listens on: loopback unless HOST says otherwise. */
  host: string;
  snakepit: SnakepitModuleOptions;
  /** NATS_URL: the broker. With it the app serves its pools there too (beside HTTP). */
  natsUrl?: string;
  /** SNAKEPIT_REMOTE=1 (with NATS_URL): no workers here; the routes call the pools other apps serve. */
  remote: boolean;
  /** REDIS_URL: sessions live in Redis (shared by every host). */
  redisUrl?: string;
  /** SNAKEPIT_HOST_ID: this app's name on the broker (default: machine, pid and a random part). */
  hostId?: string;
}

export function sampleConfigFromEnv(env: NodeJS.ProcessEnv = process.env): SampleConfig {
  // Numbers that do not parse are passed on as they are, so boot names the bad field.
  const number = (name: string) => (env[name] ? Number(env[name]) : undefined);
  const transport = env.SNAKEPIT_WORKER_TRANSPORT as 'unix' | 'tcp' | undefined;
  const start = env.SNAKEPIT_WORKER_START as 'fork' | 'spawn' | undefined;
  return {
    natsUrl: env.NATS_URL || undefined,
    remote: env.SNAKEPIT_REMOTE === '1',
    redisUrl: env.REDIS_URL || undefined,
    hostId: env.SNAKEPIT_HOST_ID || undefined,
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
