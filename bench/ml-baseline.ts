/** BENCH_ONLY=mlbaseline: what workers importing numpy + scikit-learn cost today, as a baseline
 *  for forked workers: cold spawn to ready (1 and 16 at once, with and without those imports)
 *  and idle PSS (a bare grpcio server; a process with the imports, alone and among 16). */
import { setTimeout as sleep } from 'node:timers/promises';
import { median } from './measure';
import { coldSpawnMs, startColdProcesses } from './cold-spawn';
import { pssBytes } from './memory';
import { startRawServer, stopRawServers } from './peers';

export const COLD_SPAWN_COUNTS = [1, 16];
const SETTLE_MS = 500;
const MiB = 2 ** 20;

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface MlBaseline {
  rounds: number;
  /** Spawn → all ready, ms, by process count. */
  coldSpawnMs: Record<number, { numpySklearn: Spread; bare: Spread }>;
  /** Idle PSS, MiB. */
  pssMiB: { bareGrpcioServer: Spread; numpySklearnAlone: Spread; numpySklearnEachOf16: Spread };
}

const spread = (values: number[]): Spread => ({ median: median(values), min: Math.min(...values), max: Math.max(...values) });

async function idlePss(pids: number[]): Promise<number> {
  await sleep(SETTLE_MS);
  return pids.reduce((sum, pid) => sum + pssBytes(pid), 0) / pids.length / MiB;
}

export async function mlBaseline(rounds = 3): Promise<MlBaseline> {
  const cold: Record<number, { numpySklearn: number[]; bare: number[] }> = {};
  for (const count of COLD_SPAWN_COUNTS) cold[count] = { numpySklearn: [], bare: [] };
  const pss = { bareGrpcioServer: [] as number[], numpySklearnAlone: [] as number[], numpySklearnEachOf16: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    for (const count of COLD_SPAWN_COUNTS) {
      cold[count].numpySklearn.push(await coldSpawnMs(count));
      cold[count].bare.push(await coldSpawnMs(count, ''));
    }
    const server = await startRawServer(); // bench/raw_echo_server.py
    pss.bareGrpcioServer.push(await idlePss([server.child.pid!]));
    stopRawServers([server]);
    for (const [count, into] of [[1, pss.numpySklearnAlone], [16, pss.numpySklearnEachOf16]] as const) {
      const processes = await startColdProcesses(count);
      into.push(await idlePss(processes.pids));
      await processes.stop();
    }
  }
  const coldSpawn: MlBaseline['coldSpawnMs'] = {};
  for (const [count, r] of Object.entries(cold)) coldSpawn[Number(count)] = { numpySklearn: spread(r.numpySklearn), bare: spread(r.bare) };
  return {
    rounds,
    coldSpawnMs: coldSpawn,
    pssMiB: {
      bareGrpcioServer: spread(pss.bareGrpcioServer),
      numpySklearnAlone: spread(pss.numpySklearnAlone),
      numpySklearnEachOf16: spread(pss.numpySklearnEachOf16),
    },
  };
}
