/**
 * Where a tiny call's time goes, on each side: the CPU time the host and the worker spend per
 * call (process.cpuUsage and /proc/<pid>/stat, over a run of calls), and what the pieces the
 * library does itself cost alone (timed in loops): the rest is gRPC's (grpc-js and HTTP/2 on the
 * host, grpcio's completion queue and threads in Python) and the event loop's.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import { decodeReply } from '../libs/snakepit/src/bridge/codec';
import type { WireValue } from '../libs/snakepit/src/bridge/wire';
import { DataPlane } from '../libs/snakepit/src/data/data-plane';
import type { PoolService } from '../libs/snakepit/src';
import { concurrent, sequential } from './measure';

const PYTHON = process.env.SNAKEPIT_PYTHON || 'python3';
const CALLS = 20_000;

export interface CpuPerCall {
  hostUs: number;
  workersUs: number;
}

export interface Breakdown {
  sequential: CpuPerCall;
  inFlight64: CpuPerCall;
  host: Record<string, number>;
  python: Record<string, number>;
}

/** CPU µs per call of the host and of the pool's workers, over `CALLS` calls made by `drive`. */
export async function cpuPerCall(pool: PoolService, drive: (call: () => Promise<unknown>) => Promise<unknown>): Promise<CpuPerCall> {
  const call = () => pool.execute('add', { a: 1, b: 2 });
  const pids = pool.listWorkers().map((w) => w.pid!);
  const workers0 = pids.map(cpuMicros);
  const host0 = process.cpuUsage();
  await drive(call);
  const host = process.cpuUsage(host0);
  const workers = pids.reduce((sum, pid, i) => sum + cpuMicros(pid) - workers0[i], 0);
  return { hostUs: (host.user + host.system) / CALLS, workersUs: workers / CALLS };
}

export const drives = {
  sequential: (call: () => Promise<unknown>) => sequential(CALLS, call),
  inFlight64: (call: () => Promise<unknown>) => concurrent(CALLS, 64, call),
};

/** The host's own pieces of a call, each timed alone (µs per call). */
export function hostPieces(): Record<string, number> {
  const definition = protoLoader.loadSync(join(__dirname, '..', 'proto', 'snakepit_bridge.proto'), { longs: Number, enums: String, defaults: true, oneofs: true });
  const channel = (definition['snakepit.bridge.Worker'] as any).Channel;
  // A pool's data plane without shared memory: the tiny call's values stay inside the messages.
  const data = new DataPlane(undefined, { thresholdBytes: Infinity });
  const args = { a: 1, b: 2 };
  const request = { tool: 'add', args: data.outgoing(args, 'args').value, requestId: '0'.repeat(36), sessionId: '', traceparent: '', tracestate: '' };
  const replyBytes = channel.responseSerialize({ frames: [{ call: 1, reply: { result: { json: Buffer.from('3'), buffers: [], tags: 0 } } }] });
  const reply = channel.responseDeserialize(replyBytes).frames[0].reply;
  const decode = (value: WireValue | undefined) => data.incoming(value);
  return {
    'encode the arguments (value model)': loop(() => data.outgoing(args, 'args')),
    'encode the frame (protobufjs)': loop(() => channel.requestSerialize({ frames: [{ call: 1, execute: request }] })),
    'decode the reply frame (protobufjs)': loop(() => channel.responseDeserialize(replyBytes)),
    'decode the result (value model, typed errors)': loop(() => decodeReply('add', reply, decode)),
  };
}

/** The worker's own pieces of a call, timed alone in Python (µs per call). */
export function pythonPieces(): Record<string, number> {
  const env = { ...process.env, PYTHONPATH: [join(__dirname, '..', 'priv', 'python'), __dirname].join(':') };
  return JSON.parse(execFileSync(PYTHON, [join(__dirname, 'python_breakdown.py')], { env, encoding: 'utf8' }));
}

function loop(step: () => unknown, calls = 50_000): number {
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) step();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1000 / calls);
  }
  return best;
}

/** User + system CPU time of a process, in µs (from /proc, at the kernel's 100 Hz ticks). */
function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}
