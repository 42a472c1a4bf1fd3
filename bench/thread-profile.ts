/** Benchmark of issue #7's thread profile: N sleeping calls at once on one worker, against one
 *  such call, in the same run (and the process profile, which runs them one after another). */
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PoolService, SnakepitModule, type WorkerProfile } from '../libs/snakepit/src';
import { median, timeMs } from './measure';

Logger.overrideLogger(false);

const THREADS = 8;
const SLEEP_MS = 100;
const ROUNDS = 5;

async function timed(profile: WorkerProfile): Promise<{ oneMs: number; manyMs: number }> {
  const app = await NestFactory.createApplicationContext(
    SnakepitModule.forRoot({
      adapter: 'bench_adapter:BenchAdapter',
      pythonPath: [__dirname],
      poolSize: 1,
      workerProfile: profile,
      ...(profile === 'thread' ? { threadsPerWorker: THREADS } : {}),
    }),
    { logger: false },
  );
  const pool = app.get(PoolService);
  await pool.ready();
  const call = () => pool.execute('sleep_ms', { ms: SLEEP_MS });
  const one: number[] = [];
  const many: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    one.push(await timeMs(call));
    many.push(await timeMs(() => Promise.all(Array.from({ length: THREADS }, call))));
  }
  await app.close();
  return { oneMs: median(one), manyMs: median(many) };
}

export async function threadProfile(): Promise<{ calls: number; sleepMs: number; thread: { oneMs: number; manyMs: number }; process: { oneMs: number; manyMs: number } }> {
  return { calls: THREADS, sleepMs: SLEEP_MS, thread: await timed('thread'), process: await timed('process') };
}
