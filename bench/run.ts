/**
 * npm run bench: the pool against the peers a Node user could pick instead, measured in the
 * same run on the same machine, with ratios. Figures only: nothing here passes or fails.
 *
 *  - raw:          @grpc/grpc-js → a bare grpcio echo server (no pool, no codec, no scheduler)
 *  - pool:         PoolService.execute('add', {a: 1, b: 2}) through SnakepitModule
 *  - python-shell: JSON lines over stdio (npm python-shell)
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PoolService, SnakepitModule, type SnakepitModuleOptions } from '../libs/snakepit/src';
import { cpuPerCall, drives, hostPieces, pythonPieces } from './breakdown';
import { laneVsRaw } from './lane-vs-raw';
import { dataPlane, numpyAvailable, printDataPlane } from './data';
import { encodingBench, printEncoding } from './encoding';
import { concurrent, median, sequential, timeMs, type LatencySummary } from './measure';
import { mlBaseline } from './ml-baseline';
import { rawClient, startPythonShell, startRawServer, stopRawServers } from './peers';
import { hostToolRoundTrip, sessionMemory } from './sessions-and-host-tools';
import { slowConsumerMemory, streamThroughput } from './streaming';
import { reapAtBoot, recoveryAfterKill } from './supervision';
import { forkVersusSpawn } from './fork';
import { threadProfile } from './thread-profile';
import { natsServerAvailable, printRemote, remotePools } from './remote';
import { contractsBench, printContracts } from './contracts';

const WARMUP = Number(process.env.BENCH_WARMUP ?? 5000);
const SEQUENTIAL_CALLS = Number(process.env.BENCH_CALLS ?? 5000);
const CONCURRENT_CALLS = Number(process.env.BENCH_CONCURRENT_CALLS ?? 20000);
const CONCURRENCY = 64;
/** prefetchPerWorker of the pool measured with calls sent ahead. */
const PREFETCH = 16;
const BOOT_SIZES = [1, 4, 16];
const BOOT_ROUNDS = 5;
const ROUNDS = 5;

Logger.overrideLogger(false);

async function bootPool(poolSize: number, profile: Partial<SnakepitModuleOptions> = {}) {
  const app = await NestFactory.createApplicationContext(
    SnakepitModule.forRoot({ adapter: 'bench_adapter:BenchAdapter', pythonPath: [__dirname], poolSize, startupConcurrency: 16, ...profile }),
    { logger: false },
  );
  const pool = app.get(PoolService);
  await pool.ready();
  return { app, pool };
}

/** Peers take turns in short rounds, so a slow spell of this shared machine hits them alike;
 *  each figure is the median over the rounds. */
async function inRounds<T>(peers: Record<string, () => Promise<T>>): Promise<Record<string, T[]>> {
  const results: Record<string, T[]> = Object.fromEntries(Object.keys(peers).map((name) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, measure] of Object.entries(peers)) results[name].push(await measure());
  }
  return results;
}

async function latency() {
  const server = await startRawServer();
  const raw = rawClient(server.port);
  const { app, pool } = await bootPool(1);
  const shell = startPythonShell();
  const calls = { raw: raw.call, pool: () => pool.execute('add', { a: 1, b: 2 }), 'python-shell': shell.call };
  for (const call of Object.values(calls)) for (let i = 0; i < WARMUP; i++) await call();
  const rounds = await inRounds(
    Object.fromEntries(Object.entries(calls).map(([name, call]) => [name, () => sequential(SEQUENTIAL_CALLS / ROUNDS, call)])),
  );
  raw.close();
  shell.close();
  stopRawServers([server]);
  await app.close();
  const summary: Record<string, LatencySummary & { p50VsRaw: Spread }> = {};
  for (const [name, runs] of Object.entries(rounds)) {
    summary[name] = {
      calls: SEQUENTIAL_CALLS,
      p50Us: median(runs.map((r) => r.p50Us)),
      p99Us: median(runs.map((r) => r.p99Us)),
      callsPerSec: median(runs.map((r) => r.callsPerSec)),
      p50VsRaw: spread(runs.map((r, i) => r.p50Us / rounds.raw[i].p50Us)),
    };
  }
  return summary;
}

async function throughput() {
  const servers = [await startRawServer(), await startRawServer()];
  const raws = servers.map((s) => rawClient(s.port));
  const { app, pool } = await bootPool(2);
  const threaded = await bootPool(2, { workerProfile: 'thread', threadsPerWorker: 4 });
  const prefetching = await bootPool(2, { prefetchPerWorker: PREFETCH });
  const shells = [startPythonShell(), startPythonShell()];
  const calls = {
    raw: (i: number) => raws[i % 2].call(),
    pool: () => pool.execute('add', { a: 1, b: 2 }),
    [`pool, prefetchPerWorker: ${PREFETCH}`]: () => prefetching.pool.execute('add', { a: 1, b: 2 }),
    'pool, thread profile (4 per worker)': () => threaded.pool.execute('add', { a: 1, b: 2 }),
    'python-shell': (i: number) => shells[i % 2].call(),
  };
  for (const call of Object.values(calls)) await concurrent(WARMUP, CONCURRENCY, call);
  const perRound = CONCURRENT_CALLS / ROUNDS;
  const rounds = await inRounds({
    ...Object.fromEntries(Object.entries(calls).map(([name, call]) => [name, () => concurrent(perRound, CONCURRENCY, call)])),
    // A pool worker runs one call at a time; this is raw gRPC held to the same rule.
    'raw, 1 in flight per server': () => concurrent(perRound, 2, calls.raw),
  });
  const results = Object.fromEntries(
    Object.entries(rounds).map(([name, runs]) => [name, { callsPerSec: median(runs), vsRaw: spread(runs.map((r, i) => r / rounds.raw[i])) }]),
  );
  raws.forEach((r) => r.close());
  shells.forEach((s) => s.close());
  stopRawServers(servers);
  await app.close();
  await threaded.app.close();
  await prefetching.app.close();
  return results;
}

async function breakdown() {
  const one = await bootPool(1);
  await drives.sequential(() => one.pool.execute('add', { a: 1, b: 2 })); // warm-up
  const sequentialCpu = await cpuPerCall(one.pool, drives.sequential);
  await one.app.close();
  const two = await bootPool(2, { prefetchPerWorker: PREFETCH });
  await drives.inFlight64(() => two.pool.execute('add', { a: 1, b: 2 }));
  const inFlight64 = await cpuPerCall(two.pool, drives.inFlight64);
  await two.app.close();
  return { sequential: sequentialCpu, inFlight64, host: hostPieces(), python: pythonPieces() };
}

async function boot() {
  const results: Record<number, { raw: number; pool: number }> = {};
  for (const size of BOOT_SIZES) {
    const raw: number[] = [];
    const pooled: number[] = [];
    for (let round = 0; round < BOOT_ROUNDS; round++) {
      let servers: Awaited<ReturnType<typeof startRawServer>>[] = [];
      raw.push(await timeMs(async () => (servers = await Promise.all(Array.from({ length: size }, startRawServer)))));
      stopRawServers(servers);
      let booted: Awaited<ReturnType<typeof bootPool>> | undefined;
      pooled.push(await timeMs(async () => (booted = await bootPool(size))));
      await booted!.app.close();
    }
    results[size] = { raw: median(raw), pool: median(pooled) };
  }
  return results;
}

function hasNumpyAndSklearn(): boolean {
  return spawnSync(process.env.SNAKEPIT_PYTHON || 'python3', ['-c', 'import numpy, sklearn']).status === 0;
}

const fmt = (n: number, digits = 0) => n.toFixed(digits);
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;

/** A ratio over the rounds: its median and range. */
interface Spread {
  median: number;
  min: number;
  max: number;
}
const spread = (values: number[]): Spread => ({ median: median(values), min: Math.min(...values), max: Math.max(...values) });
const showSpread = (s: Spread) => `${s.median.toFixed(2)}× (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;

async function main() {
  console.log(
    `warm-up ${WARMUP} calls; ${SEQUENTIAL_CALLS} sequential calls and ${CONCURRENT_CALLS} calls at ${CONCURRENCY} in flight, ` +
      `each in ${ROUNDS} rounds where the peers take turns; figures are medians over the rounds\n`,
  );
  const only = process.env.BENCH_ONLY; // latency | throughput | boot | sessions | hosttools | streaming | backpressure | supervision | threads | fork | data | remote | breakdown | contracts; only when named: lane | mlbaseline | encoding
  const lat = only && only !== 'latency' ? undefined : await latency();
  if (lat) console.log('Sequential tiny call (1 worker)      p50 µs   p99 µs   calls/s   p50 vs raw (median of rounds, range)');
  for (const [name, r] of Object.entries(lat ?? {})) {
    console.log(`  ${name.padEnd(34)} ${fmt(r.p50Us).padStart(6)} ${fmt(r.p99Us).padStart(8)} ${fmt(r.callsPerSec).padStart(9)}   ${showSpread(r.p50VsRaw)}`);
  }
  const tput = only && only !== 'throughput' ? undefined : await throughput();
  if (tput) console.log(`\nThroughput, ${CONCURRENCY} in flight over 2 workers     calls/s   vs raw (median of rounds, range)`);
  for (const [name, r] of Object.entries(tput ?? {})) {
    console.log(`  ${name.padEnd(44)} ${fmt(r.callsPerSec).padStart(7)}   ${showSpread(r.vsRaw)}`);
  }
  const split = only && only !== 'breakdown' ? undefined : await breakdown();
  if (split) {
    console.log('\nCPU per tiny call, µs            host   workers');
    console.log(`  sequential, 1 worker       ${fmt(split.sequential.hostUs).padStart(8)} ${fmt(split.sequential.workersUs).padStart(9)}`);
    console.log(`  ${CONCURRENCY} in flight, 2 workers, prefetch ${PREFETCH} ${fmt(split.inFlight64.hostUs).padStart(4)} ${fmt(split.inFlight64.workersUs).padStart(9)}`);
    console.log('  of which, each piece alone (µs):');
    for (const [piece, us] of Object.entries({ ...split.host, ...split.python })) console.log(`    ${piece.padEnd(48)} ${fmt(us, 2).padStart(7)}`);
  }
  const boots = only && only !== 'boot' ? {} : await boot();
  if (Object.keys(boots).length) console.log(`\nBoot to ready (median of ${BOOT_ROUNDS})     raw spawn ms   pool ms   pool vs raw`);
  for (const [size, r] of Object.entries(boots)) {
    console.log(`  ${`${size} workers`.padEnd(30)} ${fmt(r.raw).padStart(12)} ${fmt(r.pool).padStart(9)}   ${ratio(r.pool, r.raw)}`);
  }
  const memory = only && only !== 'sessions' ? undefined : await sessionMemory();
  if (memory) {
    console.log(`\nSession memory (heap after GC)   before MB   ${memory.sessions} sessions MB   after they expire MB`);
    console.log(`  ${''.padEnd(30)} ${fmt(memory.beforeMb, 1).padStart(9)} ${fmt(memory.fullMb, 1).padStart(17)} ${fmt(memory.afterSweepMb, 1).padStart(21)}`);
  }
  const hostTools = only && only !== 'hosttools' ? undefined : await hostToolRoundTrip();
  if (hostTools) console.log('\nPython → host tool round trip (p50, 1 worker)   plain call µs   call making one host call µs   host call µs');
  for (const [transport, r] of Object.entries(hostTools ?? {})) {
    console.log(`  ${`${transport} bridge`.padEnd(46)} ${fmt(r.plainUs).padStart(13)} ${fmt(r.viaHostUs).padStart(30)} ${fmt(r.hostCallUs).padStart(14)}`);
  }
  const streams = only && only !== 'streaming' ? undefined : await streamThroughput();
  if (streams) {
    console.log('\nStreaming, 1 worker (median of 5)            raw        pool   pool vs raw');
    const { smallChunksPerSec: small, largeMBPerSec: large } = streams;
    console.log(`  16-byte chunks per second ${fmt(small.raw).padStart(20)} ${fmt(small.pool).padStart(11)}   ${ratio(small.pool, small.raw)}`);
    console.log(`  64 KiB chunks, MB/s ${fmt(large.raw).padStart(27)} ${fmt(large.pool).padStart(11)}   ${ratio(large.pool, large.raw)}`);
  }
  const slow = only && only !== 'backpressure' ? undefined : await slowConsumerMemory();
  if (slow) {
    console.log(`\nBack-pressure: ${fmt(slow.mb)} MB read 1 ms per 64 KiB chunk in ${fmt(slow.seconds, 1)} s; host RSS ${fmt(slow.rssStartMb)} MB at the start, ${fmt(slow.rssPeakMb)} MB at most`);
  }
  const recovery = only && only !== 'supervision' ? undefined : await recoveryAfterKill();
  const reap = only && only !== 'supervision' ? undefined : await reapAtBoot();
  if (recovery && reap) {
    console.log('\nSupervision (medians)                                   baseline ms   pool ms   ratio');
    console.log(`  SIGKILLed worker → replacement ready (vs raw spawn)  ${fmt(recovery.rawMs).padStart(11)} ${fmt(recovery.replacementMs).padStart(9)}   ${ratio(recovery.replacementMs, recovery.rawMs)}`);
    console.log(`  boot reaping ${reap.orphans} orphans (vs a clean boot)          ${fmt(reap.cleanMs).padStart(11)} ${fmt(reap.reapingMs).padStart(9)}   ${ratio(reap.reapingMs, reap.cleanMs)}`);
  }
  const threads = only && only !== 'threads' ? undefined : await threadProfile();
  if (threads) {
    console.log(`\n${threads.calls} calls of sleep(${threads.sleepMs} ms) at once on 1 worker (median of 5)   one call ms   ${threads.calls} at once ms   ratio`);
    for (const [name, r] of Object.entries({ 'thread profile': threads.thread, 'process profile': threads.process })) {
      console.log(`  ${name.padEnd(64)} ${fmt(r.oneMs).padStart(11)} ${fmt(r.manyMs).padStart(14)}   ${ratio(r.manyMs, r.oneMs)}`);
    }
  }
  const fork = only && only !== 'fork' ? undefined : hasNumpyAndSklearn() ? await forkVersusSpawn() : undefined;
  if (!fork && (!only || only === 'fork')) console.log('\nfork vs spawn: skipped, this Python has no numpy and scikit-learn (see scripts/setup-bench.sh)');
  if (fork) {
    console.log(`\nnumpy + scikit-learn adapter, spawn vs fork (medians of ${fork.rounds} rounds)   spawn ms   fork ms   fork vs spawn`);
    console.log(`  16 workers, boot → all ready ${fmt(fork.readyMs.spawn).padStart(45)} ${fmt(fork.readyMs.fork).padStart(9)}   ${ratio(fork.readyMs.fork, fork.readyMs.spawn)}`);
    console.log(`  SIGKILLed worker → replacement ready ${fmt(fork.replacementMs.spawn).padStart(37)} ${fmt(fork.replacementMs.fork).padStart(9)}   ${ratio(fork.replacementMs.fork, fork.replacementMs.spawn)}`);
    console.log(`  one cold spawn (1 worker, boot → ready): ${fmt(fork.oneColdSpawnMs)} ms; forked replacement vs it: ${ratio(fork.replacementMs.fork, fork.oneColdSpawnMs)}`);
    const { pssMiB: m } = fork;
    console.log(`  idle PSS MiB: bare grpcio server ${fmt(m.bareGrpcioServer, 1)}, spawned worker ${fmt(m.spawnedWorker, 1)}, forked worker ${fmt(m.forkedWorker, 1)} (${ratio(m.forkedWorker, m.bareGrpcioServer)} the bare server), template ${m.template === undefined ? '-' : fmt(m.template, 1)}`);
  }
  const data = only && only !== 'data' ? undefined : numpyAvailable() ? await dataPlane() : undefined;
  if (!data && (!only || only === 'data')) console.log('\ndata plane: skipped, this Python has no numpy (see scripts/setup-bench.sh)');
  if (data) printDataPlane(data);
  const remote = only && only !== 'remote' ? undefined : natsServerAvailable() ? await remotePools() : undefined;
  if (!remote && (!only || only === 'remote')) console.log('\nremote pools: skipped, there is no nats-server on the PATH');
  if (remote) printRemote(remote);
  const contracts = only && only !== 'contracts' ? undefined : await contractsBench({ warmup: WARMUP, calls: SEQUENTIAL_CALLS, concurrentCalls: CONCURRENT_CALLS, concurrency: CONCURRENCY, rounds: ROUNDS });
  if (contracts) printContracts(contracts);
  // Asked for by name only: the lane is a prototype, mlbaseline needs numpy and scikit-learn, and
  // encoding measures the codecs alone (ours against MessagePack, no transport).
  const lane = only === 'lane' ? await laneVsRaw({ warmup: WARMUP, sequentialCalls: SEQUENTIAL_CALLS, concurrentCalls: CONCURRENT_CALLS, concurrency: CONCURRENCY, rounds: ROUNDS }) : undefined;
  if (lane) {
    const raw = 'raw grpc unary (TCP)';
    console.log('\nLane prototype, sequential tiny call     p50 µs   p99 µs   calls/s   p50 vs raw');
    for (const [name, r] of Object.entries(lane.sequential)) {
      console.log(`  ${name.padEnd(36)} ${fmt(r.p50Us).padStart(6)} ${fmt(r.p99Us).padStart(8)} ${fmt(r.callsPerSec).padStart(9)}   ${ratio(r.p50Us, lane.sequential[raw].p50Us)}`);
    }
    console.log(`\nLane prototype, ${CONCURRENCY} in flight over 2 servers   calls/s   vs raw`);
    for (const [name, r] of Object.entries(lane.concurrent)) console.log(`  ${name.padEnd(36)} ${fmt(r).padStart(9)}   ${ratio(r, lane.concurrent[raw])}`);
  }
  const ml = only === 'mlbaseline' ? await mlBaseline() : undefined;
  if (ml) {
    const spread = (s: { median: number; min: number; max: number }, digits = 0) => `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`.padStart(digits ? 20 : 18);
    console.log(`\nCold spawn to ready, at once (median of ${ml.rounds}, range)   numpy + sklearn ms   bare grpcio ms`);
    for (const [count, r] of Object.entries(ml.coldSpawnMs)) console.log(`  ${`${count} process${count === '1' ? '' : 'es'}`.padEnd(50)} ${spread(r.numpySklearn)} ${spread(r.bare)}`);
    console.log(`\nIdle PSS, MiB (median of ${ml.rounds}, range)`);
    console.log(`  bare grpcio server (raw_echo_server.py) ${spread(ml.pssMiB.bareGrpcioServer, 1)}`);
    console.log(`  grpcio + numpy + sklearn, alone         ${spread(ml.pssMiB.numpySklearnAlone, 1)}`);
    console.log(`  grpcio + numpy + sklearn, each of 16    ${spread(ml.pssMiB.numpySklearnEachOf16, 1)}`);
  }
  const encoding = only === 'encoding' ? encodingBench() : undefined;
  if (encoding) printEncoding(encoding);
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'latest.json'), JSON.stringify({ at: new Date().toISOString(), latency: lat, throughput: tput, boot: boots, sessions: memory, hostTools, streams, slow, recovery, reap, threads, fork, data, remote, contracts, breakdown: split, lane, mlBaseline: ml, encoding }, null, 2));
  console.log(`\nfigures written to bench/results/latest.json`);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
