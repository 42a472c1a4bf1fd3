import { resolve } from 'node:path';
import type { SnakepitModuleOptions } from '@snakepit/nestjs';

/** The sample app's settings, read from the environment. */
export interface SampleConfig {
  port: number;
  snakepit: SnakepitModuleOptions;
}

export function sampleConfigFromEnv(env: NodeJS.ProcessEnv = process.env): SampleConfig {
  const poolSize = env.SNAKEPIT_POOL_SIZE ? Number(env.SNAKEPIT_POOL_SIZE) : 2;
  return {
    port: env.PORT ? Number(env.PORT) : 3000,
    snakepit: {
      adapter: env.SNAKEPIT_ADAPTER || 'snakepit_showcase.adapter:ShowcaseAdapter',
      // Numbers that do not parse are passed on as they are, so boot names the bad field.
      poolSize,
      pythonPath: (env.SNAKEPIT_PYTHON_PATH || '').split(':').filter(Boolean).map((dir) => resolve(dir)),
      ...(env.SNAKEPIT_PYTHON ? { pythonExecutable: env.SNAKEPIT_PYTHON } : {}),
    },
  };
}
