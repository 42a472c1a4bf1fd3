/** Benchmarks of issue #4: stream throughput against a raw grpc-js ← grpcio server stream, and
 *  host memory while a slow consumer reads a large stream. */
import * as grpc from '@grpc/grpc-js';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PoolService, SnakepitModule } from '../libs/snakepit/src';
import { median, timeMs } from './measure';
import { startRawServer, stopRawServers } from './peers';

Logger.overrideLogger(false);

const ROUNDS = 5;
const SMALL = { count: Number(process.env.BENCH_SMALL_CHUNKS ?? 20_000), size: 16 };
const LARGE = { count: Number(process.env.BENCH_LARGE_CHUNKS ?? 2_000), size: 64 * 1024 };
const SLOW_READ_BYTES = Number(process.env.BENCH_SLOW_READ_BYTES ?? 1024 ** 3);

const identity = (buffer: Buffer) => buffer;
const StreamClient = grpc.makeGenericClientConstructor(
  {
    Stream: {
      path: '/bench.Echo/Stream',
      requestStream: false,
      responseStream: true,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  },
  'Stream',
);

async function rawStream(client: any, count: number, size: number): Promise<number> {
  let received = 0;
  for await (const chunk of client.Stream(Buffer.from(`${count}:${size}`))) received += (chunk as Buffer).length;
  return received;
}

async function poolStream(pool: PoolService, count: number, size: number): Promise<number> {
  let received = 0;
  for await (const chunk of pool.executeStream<Buffer>('blob', { count, size })) received += chunk.data.length;
  return received;
}

export interface StreamFigures {
  smallChunksPerSec: { raw: number; pool: number };
  largeMBPerSec: { raw: number; pool: number };
}

/** Chunks/s of 16-byte chunks and MB/s of 64 KiB chunks, one worker, peers taking turns. */
export async function streamThroughput(): Promise<StreamFigures> {
  const server = await startRawServer();
  const client = new StreamClient(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure()) as any;
  const app = await NestFactory.createApplicationContext(
    SnakepitModule.forRoot({ adapter: 'bench_adapter:BenchAdapter', pythonPath: [__dirname], poolSize: 1, requestTimeoutMs: 600_000 }),
    { logger: false },
  );
  const pool = app.get(PoolService);
  await pool.ready();
  await rawStream(client, 2000, 16);
  await poolStream(pool, 2000, 16);
  const runs = { smallRaw: [] as number[], smallPool: [] as number[], largeRaw: [] as number[], largePool: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    runs.smallRaw.push(SMALL.count / ((await timeMs(() => rawStream(client, SMALL.count, SMALL.size))) / 1000));
    runs.smallPool.push(SMALL.count / ((await timeMs(() => poolStream(pool, SMALL.count, SMALL.size))) / 1000));
    const mb = (LARGE.count * LARGE.size) / 1024 / 1024;
    runs.largeRaw.push(mb / ((await timeMs(() => rawStream(client, LARGE.count, LARGE.size))) / 1000));
    runs.largePool.push(mb / ((await timeMs(() => poolStream(pool, LARGE.count, LARGE.size))) / 1000));
  }
  client.close();
  stopRawServers([server]);
  await app.close();
  return {
    smallChunksPerSec: { raw: median(runs.smallRaw), pool: median(runs.smallPool) },
    largeMBPerSec: { raw: median(runs.largeRaw), pool: median(runs.largePool) },
  };
}

/** Host RSS while a consumer that waits 1 ms per 64 KiB chunk reads SLOW_READ_BYTES. */
export async function slowConsumerMemory(): Promise<{ mb: number; rssStartMb: number; rssPeakMb: number; seconds: number }> {
  const app = await NestFactory.createApplicationContext(
    SnakepitModule.forRoot({ adapter: 'bench_adapter:BenchAdapter', pythonPath: [__dirname], poolSize: 1, requestTimeoutMs: 3_600_000 }),
    { logger: false },
  );
  const pool = app.get(PoolService);
  await pool.ready();
  const size = 64 * 1024;
  const count = Math.round(SLOW_READ_BYTES / size);
  const rssStartMb = process.memoryUsage().rss / 1024 / 1024;
  let rssPeakMb = rssStartMb;
  const started = Date.now();
  let received = 0;
  for await (const chunk of pool.executeStream<Buffer>('blob', { count, size })) {
    received += chunk.data.length;
    if (chunk.index % 64 === 0) rssPeakMb = Math.max(rssPeakMb, process.memoryUsage().rss / 1024 / 1024);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const seconds = (Date.now() - started) / 1000;
  await app.close();
  return { mb: received / 1024 / 1024, rssStartMb, rssPeakMb, seconds };
}
