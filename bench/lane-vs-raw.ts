/** BENCH_ONLY=lane: the lane prototype (bench/lane.ts) against raw grpc-js → grpcio unary, in
 *  the same run. The lane does a worker's per-call work (protobuf, JSON, the tool); the raw
 *  echo does none of it. Raw listens on TCP, so the lane runs over TCP too, beside the Unix
 *  socket a pool's workers use. */
import { concurrent, median, sequential, type LatencySummary } from './measure';
import { laneClient, startLaneServer, stopLaneServers, type LaneTransport } from './lane';
import { rawClient, startRawServer, stopRawServers } from './peers';

export interface LaneRunOptions {
  warmup: number;
  sequentialCalls: number;
  concurrentCalls: number;
  concurrency: number;
  rounds: number;
}

export interface LaneFigures {
  sequential: Record<string, LatencySummary>;
  /** Calls per second at `concurrency` in flight over 2 servers. */
  concurrent: Record<string, number>;
}

type Call = () => Promise<unknown>;

async function lanePair(transport: LaneTransport) {
  const servers = [await startLaneServer(transport), await startLaneServer(transport)];
  const clients = await Promise.all(servers.map(laneClient));
  const calls: Call[] = clients.map((client) => () => client.call('add', { a: 1, b: 2 }));
  return { calls, stop: () => (clients.forEach((c) => c.close()), stopLaneServers(servers)) };
}

/** Each peer takes its turn in every round, so a slow spell of the machine hits them alike. */
async function inRounds<T>(rounds: number, peers: Record<string, () => Promise<T>>): Promise<Record<string, T[]>> {
  const results: Record<string, T[]> = Object.fromEntries(Object.keys(peers).map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const [name, measure] of Object.entries(peers)) results[name].push(await measure());
  }
  return results;
}

export async function laneVsRaw(options: LaneRunOptions): Promise<LaneFigures> {
  const { warmup, sequentialCalls, concurrentCalls, concurrency, rounds } = options;
  const rawServers = [await startRawServer(), await startRawServer()];
  const raws = rawServers.map((s) => rawClient(s.port));
  const unix = await lanePair('unix');
  const tcp = await lanePair('tcp');
  try {
    const pairs: Record<string, Call[]> = { 'raw grpc unary (TCP)': raws.map((r) => r.call), 'lane (Unix socket)': unix.calls, 'lane (TCP)': tcp.calls };
    for (const [first] of Object.values(pairs)) for (let i = 0; i < warmup; i++) await first();
    const seq = await inRounds(
      rounds,
      Object.fromEntries(Object.entries(pairs).map(([name, [first]]) => [name, () => sequential(sequentialCalls / rounds, first)])),
    );
    const spread = (calls: Call[]) => (i: number) => calls[i % calls.length]();
    for (const calls of Object.values(pairs)) await concurrent(warmup, concurrency, spread(calls));
    const conc = await inRounds(
      rounds,
      Object.fromEntries(Object.entries(pairs).map(([name, calls]) => [name, () => concurrent(concurrentCalls / rounds, concurrency, spread(calls))])),
    );
    const sequentialSummary: Record<string, LatencySummary> = {};
    for (const [name, runs] of Object.entries(seq)) {
      sequentialSummary[name] = {
        calls: sequentialCalls,
        p50Us: median(runs.map((r) => r.p50Us)),
        p99Us: median(runs.map((r) => r.p99Us)),
        callsPerSec: median(runs.map((r) => r.callsPerSec)),
      };
    }
    return { sequential: sequentialSummary, concurrent: Object.fromEntries(Object.entries(conc).map(([name, runs]) => [name, median(runs)])) };
  } finally {
    raws.forEach((r) => r.close());
    stopRawServers(rawServers);
    await unix.stop();
    await tcp.stop();
  }
}
