import { Logger, type ModuleMetadata } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { PoolService, SnakepitModule, type SnakepitModuleOptions } from '@snakepit/nestjs';

/** Workers' output and the pool's logs stay out of test output. */
export const silentLogger = { log() {}, error() {}, warn() {}, debug() {}, verbose() {}, fatal() {} };
Logger.overrideLogger(false);

export const SHOWCASE = 'snakepit_showcase.adapter:ShowcaseAdapter';

export interface TestApp {
  module: TestingModule;
  pool: PoolService;
  runId: string;
  close(): Promise<void>;
}

/** A real Nest application context with SnakepitModule and real Python workers. */
export async function bootApp(options: Partial<SnakepitModuleOptions> = {}, extra: ModuleMetadata = {}): Promise<TestApp> {
  const module = await Test.createTestingModule({
    ...extra,
    imports: [SnakepitModule.forRoot({ adapter: SHOWCASE, poolSize: 2, ...options }), ...(extra.imports ?? [])],
  })
    .setLogger(silentLogger)
    .compile();
  await module.init();
  const pool = module.get(PoolService);
  let closed = false;
  return {
    module,
    pool,
    runId: pool.runId,
    async close() {
      if (closed) return;
      closed = true;
      await module.close();
    },
  };
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<any> {
  try {
    const value = await promise;
    throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
  } catch (error) {
    return error;
  }
}
