/** Benchmarks of issue #3: session memory, and the cost of a Python → host tool round trip. */
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PoolService, SessionService, SnakepitModule, ToolRegistryService } from '../libs/snakepit/src';
import { median, sequential } from './measure';

Logger.overrideLogger(false);

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 100_000);
const HOST_CALLS = Number(process.env.BENCH_HOST_CALLS ?? 2000);

const gc = (): void => (global as { gc?: () => void }).gc?.();
const heapMb = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1024 / 1024;
};

/** Heap before, after creating SESSIONS sessions with one state key each, and after they expire. */
export async function sessionMemory(): Promise<{ sessions: number; beforeMb: number; fullMb: number; afterSweepMb: number }> {
  const app = await NestFactory.createApplicationContext(
    SnakepitModule.forRoot({ adapter: 'bench_adapter:BenchAdapter', poolingEnabled: false, sessions: { maxSessions: SESSIONS } }),
    { logger: false },
  );
  const sessions = app.get(SessionService);
  const beforeMb = heapMb();
  for (let i = 0; i < SESSIONS; i++) {
    const { id } = await sessions.create(undefined, { ttlMs: 60_000 });
    await sessions.setState(id, 'k', { i });
  }
  const fullMb = heapMb();
  // Sweep as if an hour had passed, rather than waiting for it.
  const realNow = Date.now;
  Date.now = () => realNow() + 3_600_000;
  const swept = await sessions.sweep();
  Date.now = realNow;
  if (swept !== SESSIONS) throw new Error(`the sweep removed ${swept} sessions, not ${SESSIONS}`);
  const afterSweepMb = heapMb();
  await app.close();
  return { sessions: SESSIONS, beforeMb, fullMb, afterSweepMb };
}

/** p50 of a tool that calls a host tool, and of a plain tool, per bridge transport. */
export async function hostToolRoundTrip(): Promise<Record<string, { plainUs: number; viaHostUs: number; hostCallUs: number }>> {
  const results: Record<string, { plainUs: number; viaHostUs: number; hostCallUs: number }> = {};
  for (const transport of ['tcp', 'unix'] as const) {
    const app = await NestFactory.createApplicationContext(
      SnakepitModule.forRoot({ adapter: 'bench_adapter:BenchAdapter', pythonPath: [__dirname], poolSize: 1, bridge: { transport } }),
      { logger: false },
    );
    app.get(ToolRegistryService).register('noop', () => null);
    const pool = app.get(PoolService);
    await pool.ready();
    const plain = () => pool.execute('add', { a: 1, b: 2 });
    const viaHost = () => pool.execute('call_host', { name: 'noop' });
    for (let i = 0; i < 1000; i++) await viaHost();
    const plainRuns: number[] = [];
    const hostRuns: number[] = [];
    for (let round = 0; round < 5; round++) {
      plainRuns.push((await sequential(HOST_CALLS / 5, plain)).p50Us);
      hostRuns.push((await sequential(HOST_CALLS / 5, viaHost)).p50Us);
    }
    await app.close();
    const plainUs = median(plainRuns);
    const viaHostUs = median(hostRuns);
    results[transport] = { plainUs, viaHostUs, hostCallUs: viaHostUs - plainUs };
  }
  return results;
}
