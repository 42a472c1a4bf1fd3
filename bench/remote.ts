/**
 * BENCH_ONLY=remote (issue 16): pools called over NATS (SnakepitRemoteModule → SnakepitHostModule),
 * with the broker, the hosts and the caller all on this machine.
 *
 *  - latency: the tiny call (`add`) one after another through a remote pool (one host of 1
 *    worker) against the same call on a local pool of 1 worker in this process, taking turns in
 *    rounds: p50, p95 and their ratios remote / local;
 *  - throughput: calls/s at 64 in flight with one host and with two hosts (1 worker each), and,
 *    for scale, a local pool of 1 and of 2 workers; the ratio two hosts / one host;
 *  - failover: two hosts under a steady load of idempotent calls (64 in flight); one host is
 *    SIGKILLed, and the figure is the time from the kill to the end of the last call that had
 *    been sent to it (each retried on the survivor, or failed): from then on every call runs on
 *    the survivor. Also: when the caller dropped the host, the calls that failed, the calls
 *    retried (their host was lost while they ran) and the calls placed again (they never ran).
 *
 * Hosts are the sample app (`apps/sample/src/main.ts`, each a Node process with its Python
 * workers) running the benchmarks' adapter. One host and the pair of hosts are on two
 * nats-servers of their own, so that the peers can take turns in rounds without a host
 * stopping: a caller uses every host on its broker. The caller runs with the default options
 * (hostLostAfterMs 3000, a roll call every 1000 ms with a 250 ms window, dropped after 3 misses,
 * maxRetries 2).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientProxyFactory, Transport, type ClientProxy } from '@nestjs/microservices';
import type { Observable } from 'rxjs';
import { tap } from 'rxjs/operators';
import { PoolService, SnakepitModule } from '../libs/snakepit/src';
import { fromStandaloneJson } from '../libs/snakepit/src/data/standalone-value';
import { RemotePoolService, SnakepitRemoteModule } from '../libs/snakepit/src/remote';
import { startNats, type NatsUnderTest } from '../test/support/nats';
import { runTypeScript, type RunningChild } from '../test/support/child-process';
import { seesHosts } from '../test/support/remote';
import { concurrent, median } from './measure';

Logger.overrideLogger(false);

const ROUNDS = 5;
const WARMUP = Number(process.env.BENCH_REMOTE_WARMUP ?? 2000);
const SEQUENTIAL_CALLS = Number(process.env.BENCH_REMOTE_CALLS ?? 5000);
const CONCURRENT_CALLS = Number(process.env.BENCH_REMOTE_CONCURRENT_CALLS ?? 15000);
const CONCURRENCY = 64;
const FAILOVER_ROUNDS = Number(process.env.BENCH_REMOTE_FAILOVER_ROUNDS ?? 5);
/** Steady load before the kill, and how long it goes on after the last call of the dead host. */
const STEADY_MS = 1000;
const AFTER_MS = 500;
/** How long the load is counted before the kill, for the rate with two hosts. */
const BEFORE_WINDOW_MS = 500;
const HOST_ENV = { SNAKEPIT_ADAPTER: 'bench_adapter:BenchAdapter', SNAKEPIT_PYTHON_PATH: __dirname };

export interface Spread {
  median: number;
  min: number;
  max: number;
}
const spread = (values: number[]): Spread => ({ median: median(values), min: Math.min(...values), max: Math.max(...values) });
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface RemoteFigures {
  cores: number;
  /** The 1-minute load average when the section started, before it ran anything: other work on the machine. */
  loadAverage: number;
  latency: {
    calls: number;
    peers: Record<string, { p50Us: number; p95Us: number; p99Us: number; callsPerSec: number }>;
    p50RemoteVsLocal: Spread;
    p95RemoteVsLocal: Spread;
  };
  throughput: {
    calls: number;
    concurrency: number;
    peers: Record<string, { callsPerSec: Spread }>;
    twoVsOne: Spread;
  };
  failover: {
    rounds: number;
    concurrency: number;
    /** SIGKILL → the end of the last call that had been sent to the killed host. */
    failoverMs: Spread;
    /** SIGKILL → the caller no longer lists the host. */
    droppedMs: Spread;
    /** Summed over the rounds. */
    calls: number;
    failed: number;
    failedBy: Record<string, number>;
    retried: number;
    placedAgain: number;
    /** Calls running on the killed host at the kill. */
    runningAtKill: number;
    sentAfterKill: number;
    sentAfterKillHung: number;
    /** Rounds where a call sent after the kill found nobody listening, which dropped the host. */
    roundsDroppedOnNoResponders: number;
    /** Completions per second: before the kill (two hosts), from the kill to the failover's end,
     *  and after it (the survivor alone). */
    ratePerSec: { before: Spread; during: Spread; after: Spread };
    /** The longest time with no call completing, from the kill to the failover's end. */
    longestGapMs: Spread;
    perRound: FailoverRound[];
  };
  /** Processes of this section still alive at its end (none expected). */
  leftOver: string[];
}

interface FailoverRound {
  failoverMs: number;
  droppedMs: number;
  calls: number;
  failed: number;
  failedBy: Record<string, number>;
  retried: number;
  placedAgain: number;
  runningAtKill: number;
  /** Calls sent to the killed host after the kill, and how many of them waited for nothing
   *  (the broker had not yet seen its connection close) until the host was taken for lost. */
  sentAfterKill: number;
  sentAfterKillHung: number;
  /** Whether the caller dropped the host because a call found nobody listening for it (else: the
   *  probe of a silent call, at half of hostLostAfterMs, or missed roll calls). */
  droppedOnNoResponders: boolean;
  rateBefore: number;
  rateDuring: number;
  rateAfter: number;
  longestGapMs: number;
}

/** One request of a call to a host, as the caller's broker client saw it go and end. */
interface Attempt {
  call: number;
  hostId: string;
  sentAt: number;
  endedAt?: number;
  /** The frame that ended it (`result`, `refused`, `error`), `no-responders`, a transport error,
   *  or `abandoned` (the caller stopped waiting: its host was lost, or the deadline passed). */
  outcome?: string;
}

/**
 * The caller's broker client with a record of every call request (subject `….host.<id>.call`)
 * while `on`: each call's arguments carry its number (`add` with a = the number), so each
 * attempt is tied to its call. Off, requests pass untouched.
 */
function recordingClient(natsUrl: string): { proxy: ClientProxy; attempts: Attempt[]; on: boolean } {
  const proxy = ClientProxyFactory.create({ transport: Transport.NATS, options: { servers: natsUrl, maxReconnectAttempts: -1, reconnectTimeWait: 100 } });
  const recorder = { proxy, attempts: [] as Attempt[], on: false };
  const send = proxy.send.bind(proxy);
  proxy.send = (<TResult, TInput>(pattern: unknown, data: TInput): Observable<TResult> => {
    const sent = send<TResult, TInput>(pattern, data);
    const subject = typeof pattern === 'string' ? /\.host\.([A-Za-z0-9_-]+)\.call$/.exec(pattern) : null;
    if (!recorder.on || !subject) return sent;
    const args = fromStandaloneJson(String((data as { args?: unknown }).args)) as { a?: unknown };
    const attempt: Attempt = { call: Number(args.a), hostId: subject[1], sentAt: nowMs() };
    recorder.attempts.push(attempt);
    const end = (outcome: string) => {
      if (attempt.outcome !== undefined) return;
      attempt.outcome = outcome;
      attempt.endedAt = nowMs();
    };
    return sent.pipe(
      tap({
        next: (frame) => {
          const kind = (frame as { kind?: string }).kind;
          if (kind !== 'alive') end(kind ?? 'not a frame');
        },
        error: (error: unknown) => end((error as Error)?.constructor?.name === 'EmptyResponseException' ? 'no-responders' : `transport error: ${(error as Error)?.message}`),
        finalize: () => end('abandoned'),
      }),
    );
  }) as ClientProxy['send'];
  return recorder;
}

/** A caller in this process on `proxy` (which it closes, after the app). */
async function bootCaller(proxy: ClientProxy) {
  const app = await NestFactory.createApplicationContext(SnakepitRemoteModule.forRoot({ client: proxy }), { logger: false });
  return { remote: app.get(RemotePoolService), close: once(async () => (await app.close(), await proxy.close())) };
}

function once(close: () => Promise<unknown>): () => Promise<unknown> {
  let closing: Promise<unknown> | undefined;
  return () => (closing ??= close());
}

async function bootLocal(poolSize: number) {
  const app = await NestFactory.createApplicationContext(
    SnakepitModule.forRoot({ adapter: 'bench_adapter:BenchAdapter', pythonPath: [__dirname], poolSize, startupConcurrency: 16 }),
    { logger: false },
  );
  const pool = app.get(PoolService);
  await pool.ready();
  return { pool, close: once(() => app.close()) };
}

/** A host: the sample app serving its pool of 1 worker on `natsUrl` (as test/support/remote.ts
 *  starts one, but a host that never gets ready is SIGKILLed here, not left running). */
interface Host {
  hostId: string;
  process: RunningChild;
  /** SIGTERM (graceful) and wait; nothing when it has exited already. */
  stop(): Promise<unknown>;
}

async function startHost(natsUrl: string, hostId: string): Promise<Host> {
  const child = runTypeScript('apps/sample/src/main.ts', {
    NATS_URL: natsUrl,
    SNAKEPIT_HOST_ID: hostId,
    PORT: '0',
    SNAKEPIT_POOL_SIZE: '1',
    SNAKEPIT_PYTHON: process.env.SNAKEPIT_PYTHON || '/usr/bin/python3',
    ...HOST_ENV,
  });
  const running = () => child.child.exitCode === null && child.child.signalCode === null;
  try {
    await child.line(/Snakepit sample listening on/, 60_000);
  } catch (error) {
    if (running()) child.child.kill('SIGKILL');
    await child.exited;
    throw error;
  }
  return { hostId, process: child, stop: async () => (running() && child.child.kill('SIGTERM'), await child.exited) };
}

/** Sequential calls; percentiles of their times. */
async function sequentialPercentiles(count: number, call: () => Promise<unknown>) {
  const samples = new Float64Array(count);
  const start = nowMs();
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    await call();
    samples[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  const totalSec = (nowMs() - start) / 1000;
  samples.sort();
  const at = (q: number) => samples[Math.min(count - 1, Math.floor(count * q))];
  return { p50Us: at(0.5), p95Us: at(0.95), p99Us: at(0.99), callsPerSec: count / totalSec };
}

async function inRounds<T>(peers: Record<string, () => Promise<T>>): Promise<Record<string, T[]>> {
  const results: Record<string, T[]> = Object.fromEntries(Object.keys(peers).map((name) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, measure] of Object.entries(peers)) results[name].push(await measure());
  }
  return results;
}

/** Pids of the live children of `pid` (a host's Python workers). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid && fields[0] !== 'Z') children.push(Number(entry));
    } catch {
      /* gone while we looked */
    }
  }
  return children;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Whether `pid` is a live worker of these hosts (not a process that took a dead one's pid). */
function ourWorker(pid: number): boolean {
  try {
    return alive(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(HOST_ENV.SNAKEPIT_ADAPTER);
  } catch {
    return false;
  }
}

/** Waits for the workers of a SIGKILLed host to notice (their lifeline), SIGKILLs any left after 5 s. */
async function workersGone(pids: number[]): Promise<void> {
  const deadline = Date.now() + 5000;
  while (pids.some(ourWorker) && Date.now() < deadline) await sleep(50);
  for (const pid of pids.filter(ourWorker)) process.kill(pid, 'SIGKILL');
}

/** One call of the failover load: `error` is its error's class (or a wrong answer). */
interface CallRecord {
  n: number;
  startedAt: number;
  endedAt?: number;
  error?: string;
}

async function failoverRound(remote: RemotePoolService, recorder: { attempts: Attempt[]; on: boolean }, victim: Host): Promise<FailoverRound> {
  const workers = childrenOf(victim.process.child.pid!);
  recorder.attempts = [];
  recorder.on = true;
  const calls: CallRecord[] = [];
  let next = 0;
  let stop = false;
  const loops = Array.from({ length: CONCURRENCY }, async () => {
    while (!stop) {
      const record: CallRecord = { n: next++, startedAt: nowMs() };
      calls.push(record);
      try {
        const sum = await remote.execute('add', { a: record.n, b: 0 }, { idempotent: true });
        if (sum !== record.n) record.error = `wrong answer ${JSON.stringify(sum)}`;
      } catch (error) {
        record.error = (error as Error).name ?? 'Error';
      }
      record.endedAt = nowMs();
    }
  });
  await sleep(STEADY_MS);
  const killAt = nowMs();
  victim.process.child.kill('SIGKILL');
  let droppedAt: number | undefined;
  const giveUp = Date.now() + 20_000;
  // Until the caller has dropped the host and no call waits on it any more.
  for (;;) {
    if (droppedAt === undefined && !remote.hosts().some((host) => host.hostId === victim.hostId)) droppedAt = nowMs();
    const open = recorder.attempts.some((a) => a.hostId === victim.hostId && a.outcome === undefined);
    if (droppedAt !== undefined && !open) break;
    if (Date.now() > giveUp) throw new Error(`the caller still ${droppedAt === undefined ? 'lists' : 'waits on'} ${victim.hostId} 20 s after its SIGKILL`);
    await sleep(2);
  }
  // The calls that had gone to the dead host end (on the survivor, or failed) within a tick of
  // its last attempt; wait for them, then keep the load a little longer.
  const onVictim = new Set(recorder.attempts.filter((a) => a.hostId === victim.hostId).map((a) => a.call));
  while (calls.some((c) => onVictim.has(c.n) && c.endedAt === undefined) && Date.now() < giveUp) await sleep(2);
  await sleep(AFTER_MS);
  stop = true;
  await Promise.all(loops);
  recorder.on = false;
  await victim.process.exited;
  await workersGone(workers);

  const attempts = recorder.attempts;
  const byCall = new Map<number, Attempt[]>();
  for (const a of attempts) byCall.set(a.call, [...(byCall.get(a.call) ?? []), a]);
  const touched = calls.filter((c) => (byCall.get(c.n) ?? []).some((a) => a.hostId === victim.hostId && (a.endedAt ?? Infinity) >= killAt));
  const failoverEnd = Math.max(killAt, ...touched.map((c) => c.endedAt!));
  const failed = calls.filter((c) => c.error !== undefined);
  const failedBy: Record<string, number> = {};
  for (const c of failed) failedBy[c.error!] = (failedBy[c.error!] ?? 0) + 1;
  // Retried: the call's attempt on the dead host was abandoned (the caller took the host for
  // lost while it might have run), and it went on elsewhere. Placed again: its attempt there,
  // sent after the kill, never ran (no responders), and it went on elsewhere.
  const onDead = (list: Attempt[]) => list.filter((a) => a.hostId === victim.hostId);
  let retried = 0;
  let placedAgain = 0;
  for (const list of byCall.values()) {
    const dead = onDead(list);
    if (dead.length === 0 || list[list.length - 1].hostId === victim.hostId) continue;
    if (dead.some((a) => a.outcome === 'abandoned')) retried++;
    else if (dead.some((a) => a.sentAt >= killAt && a.outcome === 'no-responders')) placedAgain++;
  }
  const deadAttempts = onDead(attempts);
  const runningAtKill = deadAttempts.filter((a) => a.sentAt < killAt && (a.endedAt ?? Infinity) >= killAt).length;
  const sentAfterKill = deadAttempts.filter((a) => a.sentAt >= killAt);
  const noRespondersFirst = sentAfterKill.some((a) => a.outcome === 'no-responders' && a.endedAt! <= droppedAt! + 1);
  const ends = calls.filter((c) => c.endedAt !== undefined).map((c) => c.endedAt!);
  const rate = (from: number, to: number) => ends.filter((t) => t >= from && t < to).length / Math.max(1e-3, (to - from) / 1000);
  const stopAt = Math.max(...ends);
  const inWindow = ends.filter((t) => t >= killAt && t <= failoverEnd).sort((a, b) => a - b);
  let longestGapMs = 0;
  let previous = killAt;
  for (const t of [...inWindow, failoverEnd]) {
    longestGapMs = Math.max(longestGapMs, t - previous);
    previous = t;
  }
  return {
    failoverMs: failoverEnd - killAt,
    droppedMs: droppedAt! - killAt,
    calls: calls.length,
    failed: failed.length,
    failedBy,
    retried,
    placedAgain,
    runningAtKill,
    sentAfterKill: sentAfterKill.length,
    sentAfterKillHung: sentAfterKill.filter((a) => a.outcome === 'abandoned').length,
    droppedOnNoResponders: noRespondersFirst,
    rateBefore: rate(killAt - BEFORE_WINDOW_MS, killAt),
    rateDuring: rate(killAt, failoverEnd),
    rateAfter: rate(failoverEnd, stopAt),
    longestGapMs,
  };
}

export function natsServerAvailable(): boolean {
  return spawnSync('nats-server', ['--version']).status === 0;
}

export async function remotePools(): Promise<RemoteFigures> {
  const started: { nats: NatsUnderTest[]; hosts: Host[]; workers: number[]; closers: Array<() => Promise<unknown>> } = { nats: [], hosts: [], workers: [], closers: [] };
  const host = async (natsUrl: string, hostId: string) => {
    const h = await startHost(natsUrl, hostId);
    started.hosts.push(h);
    started.workers.push(...childrenOf(h.process.child.pid!));
    return h;
  };
  // Interrupted (Ctrl-C), the hosts and brokers go too: they do not watch this process.
  const interrupted = (signal: NodeJS.Signals) => {
    for (const h of started.hosts) h.process.child.kill('SIGKILL');
    for (const nats of started.nats) void nats.kill();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  const loadAtStart = loadavg()[0];
  try {
    const solo = await startNats();
    started.nats.push(solo);
    const pair = await startNats();
    started.nats.push(pair);
    const ports = [solo.port, pair.port];
    const [soloHost, ...pairHosts] = await Promise.all([host(solo.url, 'bench-solo'), host(pair.url, 'bench-pair-a'), host(pair.url, 'bench-pair-b')]);
    const soloCaller = await bootCaller(ClientProxyFactory.create({ transport: Transport.NATS, options: { servers: solo.url } }));
    started.closers.push(soloCaller.close);
    const recorder = recordingClient(pair.url);
    const pairCaller = await bootCaller(recorder.proxy);
    started.closers.push(pairCaller.close);
    const local1 = await bootLocal(1);
    const local2 = await bootLocal(2);
    started.closers.push(local1.close, local2.close);
    await seesHosts(soloCaller.remote, [soloHost.hostId]);
    await seesHosts(pairCaller.remote, pairHosts.map((h) => h.hostId));

    // Latency.
    const tiny = {
      'remote, 1 host of 1 worker': () => soloCaller.remote.execute('add', { a: 1, b: 2 }),
      'local pool, 1 worker': () => local1.pool.execute('add', { a: 1, b: 2 }),
    };
    for (const call of Object.values(tiny)) for (let i = 0; i < WARMUP; i++) await call();
    const latRounds = await inRounds(Object.fromEntries(Object.entries(tiny).map(([name, call]) => [name, () => sequentialPercentiles(SEQUENTIAL_CALLS / ROUNDS, call)])));
    const [remoteName, localName] = Object.keys(tiny);
    const latency: RemoteFigures['latency'] = {
      calls: SEQUENTIAL_CALLS,
      peers: Object.fromEntries(
        Object.entries(latRounds).map(([name, runs]) => [
          name,
          { p50Us: median(runs.map((r) => r.p50Us)), p95Us: median(runs.map((r) => r.p95Us)), p99Us: median(runs.map((r) => r.p99Us)), callsPerSec: median(runs.map((r) => r.callsPerSec)) },
        ]),
      ),
      p50RemoteVsLocal: spread(latRounds[remoteName].map((r, i) => r.p50Us / latRounds[localName][i].p50Us)),
      p95RemoteVsLocal: spread(latRounds[remoteName].map((r, i) => r.p95Us / latRounds[localName][i].p95Us)),
    };

    // Throughput.
    const flood = {
      'remote, 1 host of 1 worker': () => soloCaller.remote.execute('add', { a: 1, b: 2 }),
      'remote, 2 hosts of 1 worker': () => pairCaller.remote.execute('add', { a: 1, b: 2 }),
      'local pool, 1 worker': () => local1.pool.execute('add', { a: 1, b: 2 }),
      'local pool, 2 workers': () => local2.pool.execute('add', { a: 1, b: 2 }),
    };
    for (const call of Object.values(flood)) await concurrent(WARMUP, CONCURRENCY, call);
    const perRound = CONCURRENT_CALLS / ROUNDS;
    const tputRounds = await inRounds(Object.fromEntries(Object.entries(flood).map(([name, call]) => [name, () => concurrent(perRound, CONCURRENCY, call)])));
    const [one, two] = Object.keys(flood);
    const throughput: RemoteFigures['throughput'] = {
      calls: CONCURRENT_CALLS,
      concurrency: CONCURRENCY,
      peers: Object.fromEntries(Object.entries(tputRounds).map(([name, runs]) => [name, { callsPerSec: spread(runs) }])),
      twoVsOne: spread(tputRounds[two].map((r, i) => r / tputRounds[one][i])),
    };
    await local1.close();
    await local2.close();
    await soloCaller.close();
    await soloHost.stop();

    // Failover: the older host of the pair is killed, a new one takes its place for the next round.
    const rounds: FailoverRound[] = [];
    let hosts = pairHosts;
    for (let round = 0; round < FAILOVER_ROUNDS; round++) {
      rounds.push(await failoverRound(pairCaller.remote, recorder, hosts[0]));
      if (round === FAILOVER_ROUNDS - 1) break;
      const fresh = await host(pair.url, `bench-pair-r${round}`);
      hosts = [hosts[1], fresh];
      await seesHosts(pairCaller.remote, hosts.map((h) => h.hostId));
      await concurrent(WARMUP, CONCURRENCY, () => pairCaller.remote.execute('add', { a: 1, b: 2 }));
    }
    const sum = (pick: (r: FailoverRound) => number) => rounds.reduce((total, r) => total + pick(r), 0);
    const failedBy: Record<string, number> = {};
    for (const r of rounds) for (const [name, count] of Object.entries(r.failedBy)) failedBy[name] = (failedBy[name] ?? 0) + count;
    const failover: RemoteFigures['failover'] = {
      rounds: FAILOVER_ROUNDS,
      concurrency: CONCURRENCY,
      failoverMs: spread(rounds.map((r) => r.failoverMs)),
      droppedMs: spread(rounds.map((r) => r.droppedMs)),
      calls: sum((r) => r.calls),
      failed: sum((r) => r.failed),
      failedBy,
      retried: sum((r) => r.retried),
      placedAgain: sum((r) => r.placedAgain),
      runningAtKill: sum((r) => r.runningAtKill),
      sentAfterKill: sum((r) => r.sentAfterKill),
      sentAfterKillHung: sum((r) => r.sentAfterKillHung),
      roundsDroppedOnNoResponders: rounds.filter((r) => r.droppedOnNoResponders).length,
      ratePerSec: { before: spread(rounds.map((r) => r.rateBefore)), during: spread(rounds.map((r) => r.rateDuring)), after: spread(rounds.map((r) => r.rateAfter)) },
      longestGapMs: spread(rounds.map((r) => r.longestGapMs)),
      perRound: rounds,
    };
    const hostPids = started.hosts.map((h) => h.process.child.pid!);
    await stopAll(started);
    return { cores: availableParallelism(), loadAverage: loadAtStart, latency, throughput, failover, leftOver: leftOver(started, hostPids, ports) };
  } finally {
    await stopAll(started);
    process.off('SIGINT', interrupted).off('SIGTERM', interrupted);
  }
}

async function stopAll(started: { nats: NatsUnderTest[]; hosts: Host[]; workers: number[]; closers: Array<() => Promise<unknown>> }): Promise<void> {
  for (const close of started.closers.splice(0)) await close().catch(() => undefined);
  await Promise.all(started.hosts.splice(0).map((h) => h.stop()));
  for (const nats of started.nats.splice(0)) await nats.close();
  await workersGone(started.workers);
}

/** What this section started that still runs: host workers, hosts, nats-servers (by port). */
function leftOver(started: { workers: number[] }, hostPids: number[], natsPorts: number[]): string[] {
  const left = [...started.workers.filter(ourWorker).map((pid) => `worker ${pid}`), ...hostPids.filter(alive).map((pid) => `host ${pid}`)];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || !alive(Number(entry))) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv[0].endsWith('nats-server') && natsPorts.some((port) => argv.includes(String(port)))) left.push(`nats-server ${entry}`);
    } catch {
      /* gone while we looked */
    }
  }
  return left;
}

const f = (n: number, digits = 0) => n.toFixed(digits);
const times = (s: Spread) => `${s.median.toFixed(2)}× (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;
const range = (s: Spread, digits = 0) => `${f(s.median, digits)} (${f(s.min, digits)}–${f(s.max, digits)})`;

export function printRemote(r: RemoteFigures): void {
  console.log(
    `\nRemote pools over NATS: broker, hosts (the sample app, 1 worker each) and caller all on this machine, ${r.cores} cores ` +
      `(load average ${f(r.loadAverage, 1)} when the section started)`,
  );
  console.log(`Sequential tiny call (add), ${r.latency.calls} calls in ${ROUNDS} rounds   p50 µs   p95 µs   p99 µs   calls/s`);
  for (const [name, p] of Object.entries(r.latency.peers)) {
    console.log(`  ${name.padEnd(58)} ${f(p.p50Us).padStart(6)} ${f(p.p95Us).padStart(8)} ${f(p.p99Us).padStart(8)} ${f(p.callsPerSec).padStart(9)}`);
  }
  console.log(`  remote / local (median of rounds, range): p50 ${times(r.latency.p50RemoteVsLocal)}, p95 ${times(r.latency.p95RemoteVsLocal)}`);
  console.log(`\nThroughput, ${r.throughput.concurrency} in flight (median of ${ROUNDS} rounds, range)      calls/s`);
  for (const [name, p] of Object.entries(r.throughput.peers)) console.log(`  ${name.padEnd(58)} ${range(p.callsPerSec).padStart(22)}`);
  console.log(`  two hosts / one host: ${times(r.throughput.twoVsOne)} (${r.cores} cores for the broker, the hosts, their workers and the caller)`);
  const o = r.failover;
  console.log(`\nFailover: 2 hosts of 1 worker, ${o.concurrency} idempotent calls in flight, one host SIGKILLed (median of ${o.rounds} rounds, range)`);
  console.log(`  SIGKILL → the last call sent to the killed host has ended (retried on the survivor or failed), ms   ${range(o.failoverMs)}`);
  console.log(`  SIGKILL → the caller no longer lists the killed host, ms                                         ${range(o.droppedMs)}`);
  console.log(`  longest time with no call completing, from the kill to the end above, ms                         ${range(o.longestGapMs)}`);
  console.log(`  completions/s: before the kill (2 hosts) ${range(o.ratePerSec.before)}, from the kill to the end above ${range(o.ratePerSec.during)}, after it (1 host) ${range(o.ratePerSec.after)}`);
  const failures = Object.entries(o.failedBy).map(([name, count]) => `${count} ${name}`).join(', ');
  console.log(
    `  over the ${o.rounds} rounds: ${o.calls} calls, ${o.failed} failed${failures ? ` (${failures})` : ''}; ${o.runningAtKill} were running on the killed host at the kill, ` +
      `${o.sentAfterKill} were sent to it after the kill (${o.sentAfterKillHung} of them waited until it was taken for lost); ` +
      `${o.retried} were retried on the survivor after their host was lost, ${o.placedAgain} placed again on it (sent to the dead host, they never ran)`,
  );
  console.log(
    `  the caller dropped the killed host in ${o.roundsDroppedOnNoResponders} of ${o.rounds} rounds because a call sent after the kill found nobody listening for it, ` +
      `in the others when the probe a call sends after 1500 ms of silence (half of hostLostAfterMs), or missed roll calls, found it gone`,
  );
  console.log(`  processes of this section left: ${r.leftOver.length ? r.leftOver.join(', ') : 'none'}`);
}

if (require.main === module) {
  remotePools().then(
    (r) => {
      printRemote(r);
      process.exit(0);
    },
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
