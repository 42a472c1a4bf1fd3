/** Benchmarks of issue #5: how fast a SIGKILLed worker is back (against a raw grpcio server's
 *  spawn-to-ready in the same run), and what reaping orphans adds to a boot. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PoolService, SnakepitEvent, SnakepitEvents, SnakepitModule, type SnakepitModuleOptions } from '../libs/snakepit/src';
import { processStartTime } from '../libs/snakepit/src/process/process-info';
import { median, timeMs } from './measure';
import { startRawServer, stopRawServers } from './peers';

Logger.overrideLogger(false);

const ROUNDS = 10;
const ORPHANS = 8;
const PYTHON = process.env.SNAKEPIT_PYTHON || 'python3';

async function boot(options: Partial<SnakepitModuleOptions>) {
  const app = await NestFactory.createApplicationContext(
    SnakepitModule.forRoot({ adapter: 'bench_adapter:BenchAdapter', pythonPath: [__dirname], ...options }),
    { logger: false },
  );
  const pool = app.get(PoolService);
  await pool.ready();
  return { app, pool, events: app.get(SnakepitEvents) };
}

/** SIGKILL to an idle worker → its replacement ready, against one raw server's spawn → ready. */
export async function recoveryAfterKill(): Promise<{ rawMs: number; replacementMs: number }> {
  // No backoff: this measures the replacement itself, not the restart policy's waiting.
  const { app, pool, events } = await boot({ poolSize: 2, crashBarrier: { taintMs: 0 }, restart: { maxRestarts: 1000, backoffMs: 0, maxBackoffMs: 0 } });
  const raw: number[] = [];
  const replacement: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let server: Awaited<ReturnType<typeof startRawServer>> | undefined;
    raw.push(await timeMs(async () => (server = await startRawServer())));
    stopRawServers([server!]);
    replacement.push(await killAndReplaceMs(pool, events));
  }
  await app.close();
  return { rawMs: median(raw), replacementMs: median(replacement) };
}

/** SIGKILL to the pool's first worker → the next snakepit.worker.ready (its replacement), in ms. */
export function killAndReplaceMs(pool: PoolService, events: SnakepitEvents): Promise<number> {
  const [victim] = pool.listWorkers();
  return timeMs(
    () =>
      new Promise<void>((resolve) => {
        const off = events.on(SnakepitEvent.WorkerReady, () => {
          off();
          resolve();
        });
        process.kill(victim.pid!, 'SIGKILL');
      }),
  );
}

/** A boot that finds ORPHANS processes of a dead run to kill, against a clean boot. */
export async function reapAtBoot(): Promise<{ orphans: number; cleanMs: number; reapingMs: number }> {
  const runtimeDir = mkdtempSync(join(tmpdir(), 'snakepit-bench-'));
  const clean: number[] = [];
  const reaping: number[] = [];
  try {
    for (let round = 0; round < 5; round++) {
      clean.push(await timeMs(async () => (await boot({ poolSize: 2, runtimeDir, instanceName: 'clean' })).app.close()));
      const runId = `bench-dead-${round}`;
      const orphans = Array.from({ length: ORPHANS }, () =>
        spawn(PYTHON, ['-c', 'import time; time.sleep(600)', '--run-id', runId], { detached: true, stdio: 'ignore' }),
      );
      await new Promise((resolve) => setTimeout(resolve, 300)); // let them start
      const workers = Object.fromEntries(orphans.map((child, i) => [`w${i}`, { pid: child.pid, startTime: processStartTime(child.pid!), command: [] }]));
      mkdirSync(join(runtimeDir, 'dirty'), { recursive: true });
      const deadHost = spawnSync('true').pid;
      writeFileSync(
        join(runtimeDir, 'dirty', `${runId}.json`),
        JSON.stringify({ version: 1, instanceName: 'dirty', runId, host: { pid: deadHost, startTime: 'gone' }, workers }),
      );
      reaping.push(await timeMs(async () => (await boot({ poolSize: 2, runtimeDir, instanceName: 'dirty' })).app.close()));
      for (const child of orphans) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  } finally {
    rmSync(runtimeDir, { recursive: true, force: true });
  }
  return { orphans: ORPHANS, cleanMs: median(clean), reapingMs: median(reaping) };
}
