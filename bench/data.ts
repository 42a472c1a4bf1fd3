/**
 * BENCH_ONLY=data: the data plane (typed arrays to numpy and back) with the showcase adapter's
 * array tools, one worker per pool, the variants taking turns in rounds in the same run.
 *
 *  - round trip of a Float32Array of 1, 16 and 256 MiB: echo (`scale` with factor 1: the array
 *    goes and a new one comes back) and numpy sum (`array_sum`: the array goes, a float comes
 *    back), through shared memory (default options), through gRPC messages
 *    (sharedMemory.enabled false), and, for 16 and 256 MiB, the floor: Node alone writing the
 *    bytes to a new file in /dev/shm and reading them back into a new buffer, once per direction
 *    the array crosses (echo: twice, sum: once), which is the least a host can do to hand bytes
 *    to another process through files and get them back without mapping them;
 *  - the threshold sweep: echo of 16 KiB … 1 MiB with shared memory forced (thresholdBytes 1)
 *    against inside messages, to see where shared memory starts to win;
 *  - pool.share: a 16 MiB array shared once, then array_sum with the handle against passing
 *    the array each call;
 *  - host memory of one 256 MiB echo (the first of that size, after the smaller ones): peak RSS
 *    (VmHWM, reset before the call) over RSS before, with the array sent and the answer alive.
 *
 * MiB/s is the array's size over the time of one call (the round trip), not bytes moved.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, rmSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NdArray, PoolService, SnakepitModule, type SnakepitModuleOptions } from '../libs/snakepit/src';
import { median } from './measure';

Logger.overrideLogger(false);

const KiB = 1024;
const MiB = 1024 * KiB;
const SHOWCASE = 'snakepit_showcase.adapter:ShowcaseAdapter';
/** Round-trip sizes; rounds × calls per round of each variant (fewer for the large ones). */
const SIZES = [
  { bytes: 1 * MiB, rounds: 5, calls: 20, floor: false },
  { bytes: 16 * MiB, rounds: 5, calls: 4, floor: true },
  // Its echo's warm-up call is the host-memory figure's (through each pool).
  { bytes: 256 * MiB, rounds: 3, calls: 1, floor: true, memory: true },
];
const SWEEP = [
  { bytes: 16 * KiB, calls: 200 },
  { bytes: 32 * KiB, calls: 200 },
  { bytes: 64 * KiB, calls: 200 },
  { bytes: 128 * KiB, calls: 150 },
  { bytes: 256 * KiB, calls: 100 },
  { bytes: 1 * MiB, calls: 40 },
];
const SWEEP_ROUNDS = 5;
const SHARE = { bytes: 16 * MiB, rounds: 5, calls: 10 };
/** Enough for 256 MiB inside one message (the option's ceiling is 2**31 - 1). */
const GRPC_MAX_MESSAGE_BYTES = 512 * MiB;

export interface Spread {
  median: number;
  min: number;
  max: number;
}
const spread = (values: number[]): Spread => ({ median: median(values), min: Math.min(...values), max: Math.max(...values) });

/** One variant at one size: ms per call (median of rounds, range) and MiB/s at the median. */
export interface Cell {
  ms: Spread;
  mibPerSec: number;
}

export type Op = 'echo' | 'sum';

export interface RoundTripRow {
  bytes: number;
  rounds: number;
  callsPerRound: number;
  shm: Cell;
  grpc: Cell;
  floor?: Cell;
  /** Throughput of shared memory over the other's: the other's ms / shm's ms, per round. */
  shmVsGrpc: Spread;
  shmVsFloor?: Spread;
}

export interface SweepRow {
  bytes: number;
  callsPerRound: number;
  /** thresholdBytes 1: every array through a segment. */
  shm: Cell;
  /** sharedMemory.enabled false. */
  inline: Cell;
  shmVsInline: Spread;
}

export interface DataFigures {
  roundTrip: Record<Op, RoundTripRow[]>;
  sweep: { rounds: number; rows: SweepRow[]; defaultThresholdBytes: number; crossover: string; crossoverBytes?: number };
  share: { bytes: number; rounds: number; callsPerRound: number; shareOnceMs: number; handle: Cell; array: Cell; handleVsArray: Spread };
  memory: { bytes: number; shm: MemoryFigure; grpc: MemoryFigure };
}

export interface MemoryFigure {
  rssBeforeMiB: number;
  rssPeakMiB: number;
  /** Peak over before, in payloads (256 MiB = 1×). */
  growthVsPayload: number;
  /** How the peak was read: VmHWM after resetting it, or RSS sampled every 2 ms. */
  peakFrom: 'VmHWM' | 'sampled';
}

export function numpyAvailable(): boolean {
  return spawnSync(process.env.SNAKEPIT_PYTHON || 'python3', ['-c', 'import numpy']).status === 0;
}

async function bootPool(profile: Partial<SnakepitModuleOptions>) {
  const app = await NestFactory.createApplicationContext(
    SnakepitModule.forRoot({ adapter: SHOWCASE, poolSize: 1, requestTimeoutMs: 600_000, ...profile }),
    { logger: false },
  );
  const pool = app.get(PoolService);
  await pool.ready();
  return { app, pool };
}

/** 0, 1, …, 999, 0, 1, … as float32 (whole numbers, so their sum is exact in float64). */
function payload(bytes: number): { data: Float32Array; sum: number } {
  const data = new Float32Array(bytes / 4);
  let sum = 0;
  for (let i = 0; i < data.length; i++) sum += data[i] = i % 1000;
  return { data, sum };
}

const timeOneMs = async (call: () => Promise<unknown>, count: number): Promise<number> => {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await call();
  return Number(process.hrtime.bigint() - t0) / 1e6 / count;
};

/** Checks what came back (during the warm-up), so that a fast wrong answer is not a figure. */
function check(op: Op, what: string, sent: { data: Float32Array; sum: number }, back: unknown): void {
  if (op === 'sum') {
    if (back !== sent.sum) throw new Error(`${what}: array_sum answered ${String(back)}, not ${sent.sum}`);
    return;
  }
  const array = back instanceof NdArray ? back.data : back;
  if (!(array instanceof Float32Array) || array.length !== sent.data.length) throw new Error(`${what}: the echo is not a Float32Array of ${sent.data.length}`);
  for (const i of [0, 1, 999, 1000, sent.data.length >> 1, sent.data.length - 1]) {
    if (array[i] !== sent.data[i]) throw new Error(`${what}: element ${i} came back as ${array[i]}, not ${sent.data[i]}`);
  }
}

/** The floor: files in a private directory under /dev/shm, as the pool's segments are. */
class Floor {
  private readonly dir = mkdtempSync('/dev/shm/snakepit-bench-floor-');
  private seq = 0;

  /** The bytes cross once: written to a new file, read back into a new buffer, file removed. */
  cross(bytes: Uint8Array): Buffer {
    const file = join(this.dir, `f${++this.seq}`);
    const length = bytes.byteLength;
    const out = Buffer.allocUnsafeSlow(length);
    const w = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      for (let done = 0; done < length; ) done += writeSync(w, bytes, done, length - done);
    } finally {
      closeSync(w);
    }
    const r = openSync(file, constants.O_RDONLY);
    try {
      for (let done = 0; done < length; ) done += readSync(r, out, done, length - done, done);
    } finally {
      closeSync(r);
      unlinkSync(file);
    }
    return out;
  }

  echo(data: Float32Array): Float32Array {
    const there = this.cross(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    const back = this.cross(there);
    return new Float32Array(back.buffer, back.byteOffset, back.byteLength / 4);
  }

  sum(data: Float32Array): void {
    this.cross(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const cell = (bytes: number, ms: number[]): Cell => ({ ms: spread(ms), mibPerSec: bytes / MiB / (median(ms) / 1000) });
const ratios = (others: number[], shm: number[]) => spread(others.map((ms, i) => ms / shm[i]));

type Variant = (sent: { data: Float32Array; sum: number }) => Promise<unknown>;

function variants(op: Op, shm: PoolService, grpc: PoolService, floor: Floor | undefined): Record<string, Variant> {
  const tool = op === 'echo' ? 'scale' : 'array_sum';
  const args = (data: Float32Array) => (op === 'echo' ? { data, factor: 1 } : { data });
  return {
    shm: (sent) => shm.execute(tool, args(sent.data)),
    grpc: (sent) => grpc.execute(tool, args(sent.data)),
    ...(floor ? { floor: async (sent: { data: Float32Array; sum: number }) => (op === 'echo' ? floor.echo(sent.data) : (floor.sum(sent.data), sent.sum)) } : {}),
  };
}

async function roundTrips(shm: PoolService, grpc: PoolService, floor: Floor): Promise<{ roundTrip: Record<Op, RoundTripRow[]>; memory: DataFigures['memory'] }> {
  const out: Record<Op, RoundTripRow[]> = { echo: [], sum: [] };
  const memory: Partial<Record<'shm' | 'grpc', MemoryFigure>> = {};
  let memoryBytes = 0;
  for (const size of SIZES) {
    const sent = payload(size.bytes);
    const byOp = { echo: variants('echo', shm, grpc, size.floor ? floor : undefined), sum: variants('sum', shm, grpc, size.floor ? floor : undefined) };
    for (const [op, calls] of Object.entries(byOp) as [Op, Record<string, Variant>][]) {
      for (const [name, call] of Object.entries(calls)) {
        if (size.memory && op === 'echo' && (name === 'shm' || name === 'grpc')) {
          memory[name] = await echoMemory(name === 'shm' ? shm : grpc, sent); // also this variant's warm-up
          memoryBytes = size.bytes;
        } else {
          check(op, `${op} ${size.bytes / MiB} MiB ${name}`, sent, await call(sent)); // warm-up
        }
      }
    }
    const runs = { echo: {} as Record<string, number[]>, sum: {} as Record<string, number[]> };
    for (let round = 0; round < size.rounds; round++) {
      for (const [op, calls] of Object.entries(byOp) as [Op, Record<string, Variant>][]) {
        for (const [name, call] of Object.entries(calls)) (runs[op][name] ??= []).push(await timeOneMs(() => call(sent), size.calls));
      }
    }
    for (const op of ['echo', 'sum'] as Op[]) {
      const r = runs[op];
      out[op].push({
        bytes: size.bytes,
        rounds: size.rounds,
        callsPerRound: size.calls,
        shm: cell(size.bytes, r.shm),
        grpc: cell(size.bytes, r.grpc),
        shmVsGrpc: ratios(r.grpc, r.shm),
        ...(r.floor ? { floor: cell(size.bytes, r.floor), shmVsFloor: ratios(r.floor, r.shm) } : {}),
      });
    }
  }
  if (!memory.shm || !memory.grpc) throw new Error('no size measured host memory');
  return { roundTrip: out, memory: { bytes: memoryBytes, shm: memory.shm, grpc: memory.grpc } };
}

async function sweep(forced: PoolService, inline: PoolService, defaultThresholdBytes: number): Promise<DataFigures['sweep']> {
  const rows: SweepRow[] = [];
  for (const size of SWEEP) {
    const sent = payload(size.bytes);
    const echo = (pool: PoolService) => () => pool.execute('scale', { data: sent.data, factor: 1 });
    const calls = { shm: echo(forced), inline: echo(inline) };
    for (const [name, call] of Object.entries(calls)) {
      check('echo', `sweep ${size.bytes / KiB} KiB ${name}`, sent, await call());
      await timeOneMs(call, Math.ceil(size.calls / 4)); // warm-up
    }
    const runs = { shm: [] as number[], inline: [] as number[] };
    for (let round = 0; round < SWEEP_ROUNDS; round++) {
      for (const [name, call] of Object.entries(calls)) runs[name as keyof typeof runs].push(await timeOneMs(call, size.calls));
    }
    rows.push({ bytes: size.bytes, callsPerRound: size.calls, shm: cell(size.bytes, runs.shm), inline: cell(size.bytes, runs.inline), shmVsInline: ratios(runs.inline, runs.shm) });
  }
  // Where shared memory wins from there on (its median ratio over 1 at that size and every larger one).
  let from = rows.length;
  while (from > 0 && rows[from - 1].shmVsInline.median > 1) from--;
  const size = (bytes: number) => (bytes >= MiB ? `${bytes / MiB} MiB` : `${bytes / KiB} KiB`);
  const crossover =
    from === 0
      ? `shared memory is faster at every size measured, from ${size(rows[0].bytes)}`
      : from === rows.length
        ? `inside messages is faster at every size measured, up to ${size(rows[rows.length - 1].bytes)}`
        : `shared memory wins from ${size(rows[from].bytes)} (inside messages is faster at ${size(rows[from - 1].bytes)})`;
  return { rounds: SWEEP_ROUNDS, rows, defaultThresholdBytes, crossover, crossoverBytes: from < rows.length ? rows[from].bytes : undefined };
}

async function shareRow(shm: PoolService): Promise<DataFigures['share']> {
  const sent = payload(SHARE.bytes);
  const t0 = process.hrtime.bigint();
  const shared = await shm.share(sent.data);
  const shareOnceMs = Number(process.hrtime.bigint() - t0) / 1e6;
  try {
    const calls = { handle: () => shm.execute('array_sum', { data: shared }), array: () => shm.execute('array_sum', { data: sent.data }) };
    for (const [name, call] of Object.entries(calls)) check('sum', `share ${name}`, sent, await call());
    const runs = { handle: [] as number[], array: [] as number[] };
    for (let round = 0; round < SHARE.rounds; round++) {
      for (const [name, call] of Object.entries(calls)) runs[name as keyof typeof runs].push(await timeOneMs(call, SHARE.calls));
    }
    return {
      bytes: SHARE.bytes,
      rounds: SHARE.rounds,
      callsPerRound: SHARE.calls,
      shareOnceMs,
      handle: cell(SHARE.bytes, runs.handle),
      array: cell(SHARE.bytes, runs.array),
      handleVsArray: ratios(runs.array, runs.handle),
    };
  } finally {
    await shared.close();
  }
}

const gc = (): void => (global as { gc?: () => void }).gc?.();
const vmHwmBytes = (): number => Number(/^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;

/** Host RSS across one echo of `data` (kept alive, as is the answer, until the peak is read). */
async function echoMemory(pool: PoolService, sent: { data: Float32Array; sum: number }): Promise<MemoryFigure> {
  gc();
  gc();
  let peakFrom: MemoryFigure['peakFrom'] = 'VmHWM';
  try {
    writeFileSync('/proc/self/clear_refs', '5'); // resets VmHWM to the current RSS (Linux 4.0+)
  } catch {
    peakFrom = 'sampled';
  }
  const before = process.memoryUsage().rss;
  let sampled = before;
  const sampler = setInterval(() => (sampled = Math.max(sampled, process.memoryUsage().rss)), 2);
  const back = await pool.execute('scale', { data: sent.data, factor: 1 });
  clearInterval(sampler);
  sampled = Math.max(sampled, process.memoryUsage().rss);
  check('echo', 'memory', sent, back);
  const peak = peakFrom === 'VmHWM' ? Math.max(vmHwmBytes(), sampled) : sampled;
  return { rssBeforeMiB: before / MiB, rssPeakMiB: peak / MiB, growthVsPayload: (peak - before) / sent.data.byteLength, peakFrom };
}

/** The whole section (about 1.5 minutes on 2 cores). */
export async function dataPlane(): Promise<DataFigures> {
  const shm = await bootPool({});
  const grpc = await bootPool({ sharedMemory: { enabled: false }, maxMessageBytes: GRPC_MAX_MESSAGE_BYTES });
  const forced = await bootPool({ sharedMemory: { thresholdBytes: 1 } });
  const floor = new Floor();
  try {
    const sweepFigures = await sweep(forced.pool, grpc.pool, shm.pool.stats().sharedMemory.thresholdBytes!);
    const { roundTrip, memory } = await roundTrips(shm.pool, grpc.pool, floor);
    const share = await shareRow(shm.pool);
    return { roundTrip, sweep: sweepFigures, share, memory };
  } finally {
    floor.close();
    await forced.app.close();
    await shm.app.close();
    await grpc.app.close();
  }
}

const size = (bytes: number) => (bytes >= MiB ? `${bytes / MiB} MiB` : `${bytes / KiB} KiB`);
const f = (n: number, digits = 0) => n.toFixed(digits);
const msCell = (c: Cell) => `${f(c.ms.median, c.ms.median < 10 ? 2 : 1)} (${f(c.ms.min, c.ms.min < 10 ? 2 : 1)}–${f(c.ms.max, c.ms.max < 10 ? 2 : 1)})`;
const times = (s: Spread) => `${s.median.toFixed(2)}× (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;

/** The figures as run.ts prints them. */
export function printDataPlane(d: DataFigures): void {
  for (const op of ['echo', 'sum'] as Op[]) {
    const title = op === 'echo' ? 'Float32Array echo (scale, factor 1), 1 worker' : 'Float32Array numpy sum (array_sum), 1 worker';
    console.log(`\n${title}; ms per call: median of rounds (range)`);
    console.log(`  ${'size'.padEnd(8)} ${'shm MiB/s'.padStart(9)} ${'shm ms'.padStart(22)} ${'gRPC MiB/s'.padStart(10)} ${'gRPC ms'.padStart(24)} ${'floor MiB/s'.padStart(11)} ${'floor ms'.padStart(20)}   shm vs gRPC          shm vs floor`);
    for (const r of d.roundTrip[op]) {
      console.log(
        `  ${size(r.bytes).padEnd(8)} ${f(r.shm.mibPerSec).padStart(9)} ${msCell(r.shm).padStart(22)} ${f(r.grpc.mibPerSec).padStart(10)} ${msCell(r.grpc).padStart(24)} ` +
          `${(r.floor ? f(r.floor.mibPerSec) : '-').padStart(11)} ${(r.floor ? msCell(r.floor) : '-').padStart(20)}   ${times(r.shmVsGrpc).padEnd(20)} ${r.shmVsFloor ? times(r.shmVsFloor) : '-'}`,
      );
    }
  }
  console.log(`\nThreshold sweep: echo, shared memory forced (thresholdBytes 1) vs inside messages (median of ${d.sweep.rounds} rounds)`);
  console.log(`  ${'size'.padEnd(8)} ${'shm ms'.padStart(22)} ${'inline ms'.padStart(22)}   shm vs inline`);
  for (const r of d.sweep.rows) console.log(`  ${size(r.bytes).padEnd(8)} ${msCell(r.shm).padStart(22)} ${msCell(r.inline).padStart(22)}   ${times(r.shmVsInline)}`);
  console.log(`  crossover: ${d.sweep.crossover}; the default thresholdBytes is ${size(d.sweep.defaultThresholdBytes)}`);
  const s = d.share;
  console.log(`\npool.share: ${size(s.bytes)} array shared once in ${f(s.shareOnceMs, 1)} ms, then array_sum (median of ${s.rounds} rounds of ${s.callsPerRound} calls)`);
  console.log(`  with the handle ${msCell(s.handle).padStart(22)} ms per call   passing the array ${msCell(s.array).padStart(22)} ms per call   handle vs array ${times(s.handleVsArray)}`);
  const m = d.memory;
  console.log(`\nHost RSS across one ${size(m.bytes)} echo (answer kept)   before MiB   peak MiB   growth vs payload`);
  for (const [name, r] of Object.entries({ 'shared memory': m.shm, 'gRPC messages': m.grpc })) {
    console.log(`  ${name.padEnd(48)} ${f(r.rssBeforeMiB).padStart(10)} ${f(r.rssPeakMiB).padStart(10)}   ${f(r.growthVsPayload, 2)}× (${r.peakFrom})`);
  }
}

if (require.main === module) {
  dataPlane().then(
    (d) => {
      printDataPlane(d);
      process.exit(0);
    },
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
