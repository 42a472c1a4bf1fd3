/**
 * The README's benchmark tables, as Markdown, from one run's bench/results/latest.json:
 * `node -r @swc-node/register bench/readme-tables.ts`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const r = JSON.parse(readFileSync(join(__dirname, 'results', 'latest.json'), 'utf8'));
const n = (x: number, digits = 0) => x.toFixed(digits);
const spread = (s: { median: number; min: number; max: number }) => `${s.median.toFixed(2)}× (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;
const x = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
const out: string[] = [`Run of ${r.at}.`, ''];
const table = (head: string[], rows: (string | number)[][]) => {
  out.push(`| ${head.join(' | ')} |`, `| ${head.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`);
  for (const row of rows) out.push(`| ${row.join(' | ')} |`);
  out.push('');
};

if (r.latency) {
  table(
    ['sequential tiny call, 1 worker', 'p50 µs', 'p99 µs', 'calls/s', 'p50 vs raw (median of rounds, range)'],
    Object.entries<any>(r.latency).map(([name, s]) => [name, n(s.p50Us), n(s.p99Us), n(s.callsPerSec), spread(s.p50VsRaw)]),
  );
}
if (r.throughput) {
  table(
    ['64 calls in flight over 2 workers', 'calls/s', 'vs raw (median of rounds, range)'],
    Object.entries<any>(r.throughput).map(([name, s]) => [name, n(s.callsPerSec), spread(s.vsRaw)]),
  );
}
if (r.breakdown) {
  const b = r.breakdown;
  table(
    ['CPU time per tiny call', 'host µs', 'workers µs'],
    [
      ['sequential, 1 worker', n(b.sequential.hostUs), n(b.sequential.workersUs)],
      ['64 in flight, 2 workers, `prefetchPerWorker: 16`', n(b.inFlight64.hostUs), n(b.inFlight64.workersUs)],
    ],
  );
  table(
    ['each piece alone', 'µs per call'],
    Object.entries<number>({ ...b.host, ...b.python }).map(([piece, us]) => [piece, n(us, 1)]),
  );
}
if (r.boot && Object.keys(r.boot).length) {
  table(
    ['boot to ready (median of 5)', 'raw concurrent spawn ms', 'pool ms', 'pool vs raw'],
    Object.entries<any>(r.boot).map(([size, s]) => [`${size} worker${size === '1' ? '' : 's'}`, n(s.raw), n(s.pool), x(s.pool, s.raw)]),
  );
}
if (r.sessions) {
  table(
    ['session memory (heap after GC)', 'MB'],
    [
      ['before', n(r.sessions.beforeMb, 1)],
      [`with ${r.sessions.sessions.toLocaleString('en')} sessions, one state key each`, n(r.sessions.fullMb, 1)],
      ['after they expired and the sweep ran', n(r.sessions.afterSweepMb, 1)],
    ],
  );
}
if (r.hostTools) {
  table(
    ['Python → host tool round trip, p50, 1 worker', 'plain call µs', 'a call that makes one host call µs', 'the host call µs'],
    Object.entries<any>(r.hostTools).map(([bridge, s]) => [`${bridge === 'tcp' ? 'TCP' : 'Unix socket'} bridge`, n(s.plainUs), n(s.viaHostUs), n(s.hostCallUs)]),
  );
}
if (r.streams) {
  table(
    ['streaming, 1 worker (median of 5)', 'raw', 'pool', 'pool vs raw'],
    [
      ['16-byte chunks per second', n(r.streams.smallChunksPerSec.raw), n(r.streams.smallChunksPerSec.pool), x(r.streams.smallChunksPerSec.pool, r.streams.smallChunksPerSec.raw)],
      ['64 KiB chunks, MB/s', n(r.streams.largeMBPerSec.raw), n(r.streams.largeMBPerSec.pool), x(r.streams.largeMBPerSec.pool, r.streams.largeMBPerSec.raw)],
    ],
  );
}
if (r.slow) out.push(`Back-pressure: ${n(r.slow.mb)} MB read 1 ms per 64 KiB chunk in ${n(r.slow.seconds, 1)} s; host RSS ${n(r.slow.rssStartMb)} MB at the start, ${n(r.slow.rssPeakMb)} MB at most.`, '');
if (r.recovery && r.reap) {
  table(
    ['supervision (medians)', 'baseline ms', 'pool ms', 'ratio'],
    [
      ['SIGKILLed worker → replacement ready, against a raw server\'s spawn', n(r.recovery.rawMs), n(r.recovery.replacementMs), x(r.recovery.replacementMs, r.recovery.rawMs)],
      ['boot that reaps 8 orphans, against a clean boot', n(r.reap.cleanMs), n(r.reap.reapingMs), x(r.reap.reapingMs, r.reap.cleanMs)],
    ],
  );
}
if (r.threads) {
  table(
    ['8 calls of sleep(100 ms) at once, 1 worker (median of 5)', 'one call ms', '8 at once ms', 'ratio'],
    [
      ['thread, `threadsPerWorker: 8`', n(r.threads.thread.oneMs), n(r.threads.thread.manyMs), x(r.threads.thread.manyMs, r.threads.thread.oneMs)],
      ['process', n(r.threads.process.oneMs), n(r.threads.process.manyMs), x(r.threads.process.manyMs, r.threads.process.oneMs)],
    ],
  );
}
if (r.fork) {
  const f = r.fork;
  table(
    [`numpy + scikit-learn (medians of ${f.rounds})`, 'spawn', 'fork', 'fork vs spawn'],
    [
      ['16 workers, boot → all ready, ms', n(f.readyMs.spawn), n(f.readyMs.fork), x(f.readyMs.fork, f.readyMs.spawn)],
      ['SIGKILLed worker → replacement ready, ms', n(f.replacementMs.spawn), n(f.replacementMs.fork), `${x(f.replacementMs.fork, f.replacementMs.spawn)}; ${x(f.replacementMs.fork, f.oneColdSpawnMs)} one cold spawn (${n(f.oneColdSpawnMs)} ms)`],
      ['idle PSS per worker, MiB', n(f.pssMiB.spawnedWorker, 1), n(f.pssMiB.forkedWorker, 1), `${x(f.pssMiB.forkedWorker, f.pssMiB.spawnedWorker)}; ${x(f.pssMiB.forkedWorker, f.pssMiB.bareGrpcioServer)} a bare grpcio server (${n(f.pssMiB.bareGrpcioServer, 1)} MiB)`],
    ],
  );
  if (f.pssMiB.template !== undefined) out.push(`The template itself: ${n(f.pssMiB.template, 1)} MiB PSS.`, '');
}
if (r.data) {
  const d = r.data;
  const size = (bytes: number) => (bytes >= 2 ** 20 ? `${bytes / 2 ** 20} MiB` : `${bytes / 1024} KiB`);
  const digits = (v: number) => (v < 10 ? 2 : v < 100 ? 1 : 0);
  const ms = (c: { ms: { median: number; min: number; max: number } }) => `${n(c.ms.median, digits(c.ms.median))} (${n(c.ms.min, digits(c.ms.min))}–${n(c.ms.max, digits(c.ms.max))})`;
  const mibs = (c?: { mibPerSec: number }) => (c ? n(c.mibPerSec) : '-');
  for (const [op, title] of [['echo', 'Float32Array echo (`scale`, factor 1), 1 worker'], ['sum', 'Float32Array numpy sum (`array_sum`), 1 worker']]) {
    table(
      [title, 'shared memory MiB/s', 'ms', 'gRPC messages MiB/s', 'ms', 'floor MiB/s', 'ms', 'shared memory vs gRPC', 'vs floor'],
      d.roundTrip[op].map((row: any) => [
        size(row.bytes), mibs(row.shm), ms(row.shm), mibs(row.grpc), ms(row.grpc), mibs(row.floor), row.floor ? ms(row.floor) : '-',
        spread(row.shmVsGrpc), row.shmVsFloor ? spread(row.shmVsFloor) : '-',
      ]),
    );
  }
  table(
    ['echo, threshold sweep (median of ' + d.sweep.rounds + ' rounds)', 'shared memory forced ms', 'inside messages ms', 'shared memory vs inside'],
    d.sweep.rows.map((row: any) => [size(row.bytes), ms(row.shm), ms(row.inline), spread(row.shmVsInline)]),
  );
  out.push(`Crossover: ${d.sweep.crossover}; the default \`sharedMemory.thresholdBytes\` is ${size(d.sweep.defaultThresholdBytes)}.`, '');
  const s = d.share;
  table(
    [`\`pool.share\`: ${size(s.bytes)} shared once (${n(s.shareOnceMs, 1)} ms), then \`array_sum\``, 'ms per call', 'vs passing the array'],
    [
      ['with the handle', ms(s.handle), spread(s.handleVsArray)],
      ['passing the array each call', ms(s.array), '1.00×'],
    ],
  );
  table(
    [`host RSS across one ${size(d.memory.bytes)} echo (answer kept)`, 'before MiB', 'peak MiB', 'growth vs payload'],
    [
      ['shared memory', n(d.memory.shm.rssBeforeMiB), n(d.memory.shm.rssPeakMiB), `${n(d.memory.shm.growthVsPayload, 2)}×`],
      ['gRPC messages', n(d.memory.grpc.rssBeforeMiB), n(d.memory.grpc.rssPeakMiB), `${n(d.memory.grpc.growthVsPayload, 2)}×`],
    ],
  );
}
if (r.remote) {
  const m = r.remote;
  if (m.loadAverage !== undefined) out.push(`Remote pools, on ${m.cores} cores; the load average was ${n(m.loadAverage, 1)} when the section started.`, '');
  const range = (s: { median: number; min: number; max: number }, digits = 0) => `${n(s.median, digits)} (${n(s.min, digits)}–${n(s.max, digits)})`;
  table(
    [`remote pool over NATS, sequential tiny call (\`add\`), 1 worker`, 'p50 µs', 'p95 µs', 'p99 µs', 'calls/s'],
    [
      ...Object.entries<any>(m.latency.peers).map(([name, s]) => [name, n(s.p50Us), n(s.p95Us), n(s.p99Us), n(s.callsPerSec)]),
      ['remote / local (median of rounds, range)', spread(m.latency.p50RemoteVsLocal), spread(m.latency.p95RemoteVsLocal), '', ''],
    ],
  );
  table(
    [`${m.throughput.concurrency} calls in flight, ${m.cores} cores for broker, hosts, workers and caller`, 'calls/s (median of rounds, range)'],
    [
      ...Object.entries<any>(m.throughput.peers).map(([name, s]) => [name, range(s.callsPerSec)]),
      ['two hosts / one host', spread(m.throughput.twoVsOne)],
    ],
  );
  const o = m.failover;
  const failures = Object.entries<number>(o.failedBy).map(([name, count]) => `${count} ${name}`).join(', ');
  table(
    [`failover: 2 hosts of 1 worker, ${o.concurrency} idempotent calls in flight, one SIGKILLed (median of ${o.rounds}, range)`, 'ms'],
    [
      ['SIGKILL → the last call sent to the killed host has ended (retried on the survivor, or failed)', range(o.failoverMs)],
      ['SIGKILL → the caller no longer lists the killed host', range(o.droppedMs)],
      ['longest time with no call completing, from the kill to the end above', range(o.longestGapMs)],
    ],
  );
  out.push(
    `Over the ${o.rounds} rounds: ${o.calls.toLocaleString('en')} calls, ${o.failed} failed${failures ? ` (${failures})` : ''}; ${o.runningAtKill} were running on the killed host at the kill, ` +
      `${o.sentAfterKill} were sent to it after the kill (${o.sentAfterKillHung} of them waited until it was taken for lost); ` +
      `${o.retried} were retried on the survivor after their host was lost, ${o.placedAgain} were placed again (sent to the dead host, they never ran). ` +
      `The caller dropped the killed host in ${o.roundsDroppedOnNoResponders} of ${o.rounds} rounds because a call sent after the kill found nobody listening for it, ` +
      'in the others when the probe a call sends after 1500 ms of silence (half of `hostLostAfterMs`), or missed roll calls, found it gone. ' +
      `Completions per second: ${range(o.ratePerSec.before)} before the kill (two hosts), ${range(o.ratePerSec.during)} from the kill to the end of the failover, ${range(o.ratePerSec.after)} after it (the survivor alone).`,
    '',
  );
}
if (r.encoding) {
  const e = r.encoding;
  const us = (f?: { totalUs: number }) => (f ? n(f.totalUs, f.totalUs < 10 ? 2 : f.totalUs < 100 ? 1 : 0) : '-');
  const vs = (c?: { ours?: { totalUs: number }; msgpack?: { totalUs: number } }) => (c?.ours && c.msgpack ? x(c.msgpack.totalUs, c.ours.totalUs) : '-');
  const bytes = (c?: { ours?: { bytes: number }; msgpack?: { bytes: number } }) => `${c?.ours?.bytes ?? '-'} / ${c?.msgpack?.bytes ?? '-'}`;
  const labels: Record<string, string> = {
    tiny: 'tiny call args `{a: 1, b: 2}`',
    mixed100: '100 mixed fields',
    records1000: '1000 records `{id, name, score, tags}`',
    array1MiB: '1 MiB float32 array + 3 scalars',
    dateBigint: 'date + bigint (2^60 + 7) + 3 small fields',
  };
  const py = e.python?.cases ?? {};
  table(
    [`encode + decode, µs per value (median of ${e.rounds} rounds)`, 'Node ours', 'Node MessagePack', 'MessagePack time / ours', 'Python ours', 'Python MessagePack', 'MessagePack time / ours', 'bytes (Node), ours / MessagePack'],
    Object.entries(labels).map(([key, label]) => [label, us(e.node.cases[key]?.ours), us(e.node.cases[key]?.msgpack), vs(e.node.cases[key]), us(py[key]?.ours), us(py[key]?.msgpack), vs(py[key]), bytes(e.node.cases[key])]),
  );
  const copy = (f?: { arrayViewsInput: boolean; arrayWritable: boolean }) => (f ? `${f.arrayViewsInput ? 'a view of the bytes decoded' : 'a copy'}${f.arrayWritable ? '' : ' (read-only)'}` : '-');
  const a = e.node.cases.array1MiB ?? {};
  const pa = py.array1MiB ?? {};
  out.push(
    `The 1 MiB array after decode: Node, ours ${copy(a.ours)}, MessagePack ${copy(a.msgpack)}; Python, ours ${copy(pa.ours)}, MessagePack ${copy(pa.msgpack)}` +
      ' (Python, ours: the buffers here are memoryviews, as from a shared-memory segment; a buffer inside a gRPC message arrives as bytes, which the decoder copies once so that the array is writable).' +
      ` Node ${e.node.version}, @msgpack/msgpack ${e.node.msgpack}${e.python ? `; Python ${e.python.python}, numpy ${e.python.numpy ?? '-'}, msgpack ${e.python.msgpack ?? '-'}` : ''}.`,
    '',
  );
  for (const reason of e.skipped ?? []) out.push(`Skipped: ${reason}.`, '');
}
console.log(out.join('\n'));
