/**
 * Typed contracts: what checking a tiny call's arguments on the host (Ajv, against the schema
 * Python derived from the tool's hints) costs, against the same call unchecked
 * (`validateArguments: false`), in the same run and the same pool, taking turns in rounds.
 */
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PoolService, SnakepitModule } from '../libs/snakepit/src';
import { ArgumentValidator, createAjv } from '../libs/snakepit/src/pool/argument-validator';
import { concurrent, median } from './measure';

Logger.overrideLogger(false);

export interface ContractsFigures {
  calls: number;
  rounds: number;
  sequential: { checkedP50Us: number; uncheckedP50Us: number; ratio: { median: number; min: number; max: number } };
  concurrent: { inFlight: number; checkedPerSec: number; uncheckedPerSec: number; ratio: { median: number; min: number; max: number } };
  /** The check alone, per call (µs). */
  checkUs: number;
}

const p50 = (samples: Float64Array) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)];
const spread = (values: number[]) => ({ median: median(values), min: Math.min(...values), max: Math.max(...values) });

export async function contractsBench(options: { warmup: number; calls: number; concurrentCalls: number; concurrency: number; rounds: number }): Promise<ContractsFigures> {
  const app = await NestFactory.createApplicationContext(
    SnakepitModule.forRoot({ adapter: 'bench_adapter:BenchAdapter', pythonPath: [__dirname], poolSize: 1 }),
    { logger: false },
  );
  const pool = app.get(PoolService);
  await pool.ready();
  const args = { a: 1, b: 2 };
  const checked = () => pool.execute('add_ints', args);
  const unchecked = () => pool.execute('add_ints', args, { validateArguments: false });
  await checked();
  for (let i = 0; i < options.warmup; i++) await (i % 2 ? checked() : unchecked());
  const seq = { checked: [] as number[], unchecked: [] as number[] };
  const tput = { checked: [] as number[], unchecked: [] as number[] };
  for (let round = 0; round < options.rounds; round++) {
    // Which goes first alternates, so that neither always follows the other.
    const order = round % 2 ? (['unchecked', 'checked'] as const) : (['checked', 'unchecked'] as const);
    // Sequential: checked and unchecked calls alternate one by one, so a slow spell hits both alike.
    const samples = { checked: new Float64Array(options.calls / options.rounds / 2), unchecked: new Float64Array(options.calls / options.rounds / 2) };
    for (let i = 0; i < samples.checked.length; i++) {
      for (const name of order) {
        const t0 = process.hrtime.bigint();
        await (name === 'checked' ? checked() : unchecked());
        samples[name][i] = Number(process.hrtime.bigint() - t0) / 1000;
      }
    }
    for (const name of order) seq[name].push(p50(samples[name]));
    for (const name of order) tput[name].push(await concurrent(options.concurrentCalls / options.rounds, options.concurrency, name === 'checked' ? checked : unchecked));
  }
  await app.close();

  // The check alone: the same validator the pool compiles, on the same arguments.
  const schema = { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' }, scale: { type: 'number', default: 1.0 } }, required: ['a', 'b'], additionalProperties: false };
  const validator = ArgumentValidator.compile(createAjv(), 'add_ints', schema);
  const n = 200_000;
  for (let i = 0; i < 10_000; i++) validator.assert(args);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) validator.assert(args);
  const checkUs = Number(process.hrtime.bigint() - t0) / 1000 / n;

  return {
    calls: options.calls,
    rounds: options.rounds,
    sequential: { checkedP50Us: median(seq.checked), uncheckedP50Us: median(seq.unchecked), ratio: spread(seq.checked.map((c, i) => c / seq.unchecked[i])) },
    concurrent: {
      inFlight: options.concurrency,
      checkedPerSec: median(tput.checked),
      uncheckedPerSec: median(tput.unchecked),
      ratio: spread(tput.checked.map((c, i) => c / tput.unchecked[i])),
    },
    checkUs,
  };
}

export function printContracts(f: ContractsFigures): void {
  const show = (s: { median: number; min: number; max: number }) => `${s.median.toFixed(3)}× (${s.min.toFixed(3)}–${s.max.toFixed(3)})`;
  console.log(`\nArgument validation, tiny call add_ints({a, b}) on 1 worker   checked   unchecked   checked vs unchecked (median of ${f.rounds} rounds, range)`);
  console.log(`  sequential, p50 µs ${f.sequential.checkedP50Us.toFixed(0).padStart(40)} ${f.sequential.uncheckedP50Us.toFixed(0).padStart(11)}   ${show(f.sequential.ratio)}`);
  console.log(`  ${f.concurrent.inFlight} in flight, calls/s ${f.concurrent.checkedPerSec.toFixed(0).padStart(37)} ${f.concurrent.uncheckedPerSec.toFixed(0).padStart(11)}   ${show(f.concurrent.ratio)}`);
  console.log(`  the check alone: ${f.checkUs.toFixed(2)} µs per call`);
}
