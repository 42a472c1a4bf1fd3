/** BENCH_ONLY=fork (issue 14): workers forked from a warm template against spawned ones, with
 *  the numpy + scikit-learn adapter (bench/ml_adapter.py): 16 workers to ready, a SIGKILLed
 *  worker's replacement to ready, and the PSS of an idle worker against a bare grpcio server. */
import { readFileSync } from 'node:fs';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { setTimeout as sleep } from 'node:timers/promises';
import { PoolService, SnakepitEvents, SnakepitModule, type SnakepitModuleOptions, type WorkerStart } from '../libs/snakepit/src';
import { median, timeMs } from './measure';
import { pssBytes } from './memory';
import { startRawServer, stopRawServers } from './peers';
import { killAndReplaceMs } from './supervision';

Logger.overrideLogger(false);

const ROUNDS = Number(process.env.BENCH_FORK_ROUNDS ?? 3);
const KILLS = 10;
const POOL = 16;
const SETTLE_MS = 1000;
const MiB = 2 ** 20;
const MODES: WorkerStart[] = ['spawn', 'fork'];

async function boot(start: WorkerStart, poolSize: number, options: Partial<SnakepitModuleOptions> = {}) {
  const app = await NestFactory.createApplicationContext(
    SnakepitModule.forRoot({
      adapter: 'ml_adapter:MlAdapter', pythonPath: [__dirname], poolSize, startupConcurrency: poolSize, workers: { start }, ...options,
    }),
    { logger: false },
  );
  const pool = app.get(PoolService);
  await pool.ready();
  return { app, pool, events: app.get(SnakepitEvents) };
}

/** Nest boot → every worker ready (for fork: the template's start included). */
async function readyMs(start: WorkerStart): Promise<number> {
  let app: Awaited<ReturnType<typeof boot>>['app'] | undefined;
  const ms = await timeMs(async () => (app = (await boot(start, POOL)).app));
  await app!.close();
  return ms;
}

/** SIGKILL to an idle worker → its replacement's snakepit.worker.ready (no backoff, no taint). */
async function replacementMs(start: WorkerStart): Promise<number> {
  const { app, pool, events } = await boot(start, 2, { crashBarrier: { taintMs: 0 }, restart: { maxRestarts: 1000, backoffMs: 0, maxBackoffMs: 0 } });
  const times: number[] = [];
  for (let i = 0; i < KILLS; i++) {
    times.push(await killAndReplaceMs(pool, events));
    await sleep(100);
  }
  await app.close();
  return median(times);
}

/** Idle PSS per worker of a pool of 16 (and the template's, for fork). */
async function idlePss(start: WorkerStart): Promise<{ perWorkerMiB: number; templateMiB?: number }> {
  const { app, pool } = await boot(start, POOL);
  await pool.execute('predict', { rows: [[1, 1]] }); // one call: a worker as it serves
  await sleep(SETTLE_MS);
  const pids = pool.listWorkers().map((w) => w.pid!);
  const perWorker = pids.reduce((sum, pid) => sum + pssBytes(pid), 0) / pids.length / MiB;
  const parents = new Set(pids.map(parentOf));
  const template = start === 'fork' && parents.size === 1 ? [...parents][0] : undefined;
  const templateMiB = template !== undefined && template !== process.pid ? pssBytes(template) / MiB : undefined;
  await app.close();
  return { perWorkerMiB: perWorker, templateMiB };
}

function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

async function bareGrpcioPss(): Promise<number> {
  const server = await startRawServer();
  await sleep(SETTLE_MS);
  const pss = pssBytes(server.child.pid!) / MiB;
  stopRawServers([server]);
  return pss;
}

export interface ForkFigures {
  rounds: number;
  readyMs: Record<WorkerStart, number>;
  /** One worker spawned alone, boot → ready: the "cold spawn". */
  oneColdSpawnMs: number;
  replacementMs: Record<WorkerStart, number>;
  pssMiB: { bareGrpcioServer: number; spawnedWorker: number; forkedWorker: number; template?: number };
}

export async function forkVersusSpawn(): Promise<ForkFigures> {
  const ready: Record<WorkerStart, number[]> = { spawn: [], fork: [] };
  const replacement: Record<WorkerStart, number[]> = { spawn: [], fork: [] };
  const cold: number[] = [];
  const pss = { bare: [] as number[], spawned: [] as number[], forked: [] as number[], template: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of MODES) ready[mode].push(await readyMs(mode));
    let single: Awaited<ReturnType<typeof boot>>['app'] | undefined;
    cold.push(await timeMs(async () => (single = (await boot('spawn', 1)).app)));
    await single!.close();
    for (const mode of MODES) replacement[mode].push(await replacementMs(mode));
    pss.bare.push(await bareGrpcioPss());
    pss.spawned.push((await idlePss('spawn')).perWorkerMiB);
    const forked = await idlePss('fork');
    pss.forked.push(forked.perWorkerMiB);
    if (forked.templateMiB !== undefined) pss.template.push(forked.templateMiB);
  }
  return {
    rounds: ROUNDS,
    readyMs: { spawn: median(ready.spawn), fork: median(ready.fork) },
    oneColdSpawnMs: median(cold),
    replacementMs: { spawn: median(replacement.spawn), fork: median(replacement.fork) },
    pssMiB: {
      bareGrpcioServer: median(pss.bare),
      spawnedWorker: median(pss.spawned),
      forkedWorker: median(pss.forked),
      template: pss.template.length ? median(pss.template) : undefined,
    },
  };
}
