import { Logger } from '@nestjs/common';
import { SessionWorkerUnavailableError, WorkerBusyError, WorkerStartError, WorkerUnresponsiveError } from '../errors';
import { defaultBehaviour, fakePoolSetup, NO_HOST, settleDown, type FakeWorker } from '../../test-support/fake-worker';
import type { SessionAffinity } from '../session/session-affinity';
import { SnakepitEvent } from '../telemetry/events';
import type { SessionCall } from './call';
import { Pool } from './pool';
import type { Placement } from './scheduler';

Logger.overrideLogger(false);

const rejectionOf = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (condition()) return;
    await settleDown(2);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** What PoolService builds for executeInSession, over the same SessionAffinity. */
function inSession(affinity: SessionAffinity, id: string, mode: Placement['mode']): SessionCall {
  return {
    sessionId: id,
    get placement() {
      const workerId = affinity.workerFor(id, 'default');
      return workerId ? { workerId, mode } : undefined;
    },
    onDispatch: (workerId) => affinity.bind(id, 'default', workerId),
  };
}

const ready = (workers: FakeWorker[]) => workers.filter((worker) => worker.state === 'ready');

describe('WorkerFleet (fake workers)', () => {
  it('replaces a worker that died, in the documented order of events, and taints it after a crash mid-call', async () => {
    // taintMs long enough that a loaded machine still checks the queue inside it.
    const setup = fakePoolSetup({ poolSize: 1, crashBarrier: { taintMs: 500 } });
    const pool = new Pool(setup.config, setup.context);
    await pool.start(Promise.resolve(NO_HOST));
    const call = rejectionOf(pool.execute('sleep', {}));
    await until(() => setup.workers[0].calls.length === 1, 'the call to run');
    const before = setup.seen.length;
    setup.workers[0].crash();
    await call;
    await until(() => setup.workers.length === 2 && setup.workers[1].state === 'ready', 'the replacement');
    const events = setup.seen.slice(before).map((e) => e.event).filter((name) => name.startsWith('snakepit.worker'));
    expect(events).toEqual([
      SnakepitEvent.WorkerCrashed,
      SnakepitEvent.WorkerTerminated,
      SnakepitEvent.WorkerSpawned,
      SnakepitEvent.WorkerRestarted,
      SnakepitEvent.WorkerTainted,
      SnakepitEvent.WorkerReady,
    ]);
    // Tainted: no call for taintMs, then it serves.
    const next = pool.execute('add', { a: 1, b: 1 });
    await settleDown(10);
    expect(pool.stats().queued).toBe(1);
    expect(await next).toBe(2);
    await pool.close(10, 10);
  });

  it('replaces workers that die under calls at once, off the restart budget, and reports the tool that kills them', async () => {
    const setup = fakePoolSetup({ poolSize: 1, restart: { maxRestarts: 1, backoffMs: 1000, poisonCrashes: 3 }, crashBarrier: { taintMs: 0 } });
    // With one worker, a poison tool's deaths leave no other worker serving: replaced at once.
    const pool = new Pool(setup.config, setup.context);
    await pool.start(Promise.resolve(NO_HOST));
    for (let i = 0; i < 4; i++) {
      const call = rejectionOf(pool.execute('sleep', {}));
      await until(() => ready(setup.workers).length === 1 && ready(setup.workers)[0].calls.length === 1, 'the call to run');
      ready(setup.workers)[0].crash();
      await call;
    }
    await until(() => ready(setup.workers).length === 1, 'the last replacement');
    expect(pool.stats()).toMatchObject({ status: 'ready', crashes: 4, restarts: 4 });
    expect(setup.seen.filter((e) => e.event === SnakepitEvent.WorkerRestarted).map((e) => (e.payload as { delayMs: number }).delayMs)).toEqual([0, 0, 0, 0]);
    const suspected = setup.seen.filter((e) => e.event === SnakepitEvent.PoisonToolSuspected).map((e) => e.payload);
    expect(suspected).toEqual([expect.objectContaining({ pool: 'default', tool: 'sleep', crashes: 3 })]);
    expect(pool.stats().poisonTools).toEqual([{ tool: 'sleep', crashes: 4, lastCrashAt: expect.any(String) }]);
    // An idle worker that dies still counts: with maxRestarts 1, the second idle death fails the pool.
    ready(setup.workers)[0].crash();
    await until(() => ready(setup.workers).length === 1, 'a counted replacement');
    ready(setup.workers)[0].crash();
    await until(() => pool.stats().status === 'failed', 'the pool to fail');
    await pool.close(10, 10);
  });

  it('backs off the replacements of a poison tool’s deaths while other workers serve', async () => {
    const setup = fakePoolSetup({ poolSize: 2, restart: { backoffMs: 40, maxBackoffMs: 40, poisonCrashes: 2 }, crashBarrier: { taintMs: 0 } });
    const pool = new Pool(setup.config, setup.context);
    await pool.start(Promise.resolve(NO_HOST));
    for (let i = 0; i < 3; i++) {
      const call = rejectionOf(pool.execute('sleep', {}));
      const victim = await (async () => {
        await until(() => ready(setup.workers).some((w) => w.calls.length === 1), 'the call to run');
        return ready(setup.workers).find((w) => w.calls.length === 1)!;
      })();
      victim.crash();
      await call;
      await until(() => ready(setup.workers).length === 2, 'the replacement');
    }
    const delays = setup.seen.filter((e) => e.event === SnakepitEvent.WorkerRestarted).map((e) => (e.payload as { delayMs: number }).delayMs);
    expect(delays[0]).toBe(0);
    expect(delays.slice(1).every((ms) => ms >= 20 && ms <= 40)).toBe(true); // a suspect from the second death on
    await pool.close(10, 10);
  });

  it('recycles a worker after maxRequestsPerWorker; its sessions and the calls waiting for it follow the successor', async () => {
    const setup = fakePoolSetup({ poolSize: 1, recycle: { maxRequestsPerWorker: 2 } });
    const pool = new Pool(setup.config, setup.context);
    await pool.start(Promise.resolve(NO_HOST));
    const session = inSession(setup.affinity, 's1', 'strictQueue');
    expect(await pool.execute('add', { a: 1, b: 1 }, {}, session)).toBe(2);
    expect(setup.affinity.workerFor('s1', 'default')).toBe('default-1');
    expect(await pool.execute('add', { a: 1, b: 2 }, {}, session)).toBe(3); // the second: due for recycling
    const waiting = pool.execute('add', { a: 2, b: 2 }, {}, session); // strict: waits for the heir
    expect(await waiting).toBe(4);
    expect(setup.affinity.workerFor('s1', 'default')).toBe('default-2');
    expect(setup.workers[0].stopReason).toBe('recycle');
    expect(setup.seen.find((e) => e.event === SnakepitEvent.WorkerRecycled)?.payload).toMatchObject({ workerId: 'default-1', reason: 'requests', successorId: 'default-2' });
    expect(pool.stats().recycled).toBe(1);
    await pool.close(10, 10);
  });

  it('starts another successor when the first cannot start, and that one takes over', async () => {
    const setup = fakePoolSetup({ poolSize: 1 }, defaultBehaviour({ startup: async (worker) => { if (worker.id === 'default-2') throw new WorkerStartError(worker.id, 'broken'); } }));
    const pool = new Pool(setup.config, setup.context);
    await pool.start(Promise.resolve(NO_HOST));
    await pool.execute('add', { a: 1, b: 1 }, {}, inSession(setup.affinity, 's1', 'strictQueue'));
    expect(await rejectionOf(pool.recycle('default-1'))).toBeInstanceOf(WorkerStartError);
    await until(() => setup.affinity.workerFor('s1', 'default') === 'default-3', 'the session to move to default-3');
    expect(await pool.execute('add', { a: 2, b: 3 }, {}, inSession(setup.affinity, 's1', 'strictQueue'))).toBe(5);
    await pool.close(10, 10);
  });

  it('kills a worker that misses its heartbeats; its call fails as unresponsive', async () => {
    let answering = true;
    const setup = fakePoolSetup({ poolSize: 1, heartbeat: { enabled: true, intervalMs: 5, timeoutMs: 5, maxMisses: 2 } });
    const pool = new Pool(setup.config, setup.context);
    await pool.start(Promise.resolve(NO_HOST));
    const worker = setup.workers[0];
    worker.ping = async () => {
      if (!answering) throw new Error('no answer');
    };
    const call = rejectionOf(pool.execute('sleep', {}));
    await until(() => worker.calls.length === 1, 'the call');
    answering = false;
    const error = await call;
    expect(error).toBeInstanceOf(WorkerUnresponsiveError);
    expect((error as WorkerUnresponsiveError).missedHeartbeats).toBe(2);
    expect(worker.stopReason).toBe('unresponsive');
    await until(() => ready(setup.workers).length === 1, 'a replacement');
    expect(pool.stats().unresponsive).toBe(1);
    await pool.close(10, 10);
  });

  it('recycles a thread-profile worker with a stuck call while others run on it, and kills it once only stuck calls are left', async () => {
    const setup = fakePoolSetup({ poolSize: 1, workerProfile: 'thread', threadsPerWorker: 2, cancelGraceMs: 5 });
    const pool = new Pool(setup.config, setup.context);
    await pool.start(Promise.resolve(NO_HOST));
    const worker = setup.workers[0];
    const healthy = pool.execute('sleep', {});
    await rejectionOf(pool.execute('sleep', {}, { timeoutMs: 5 }));
    await until(() => worker.state === 'recycling', 'the worker to be recycled');
    expect(worker.state).toBe('recycling');
    worker.calls[0].reply('healthy call done');
    expect(await healthy).toBe('healthy call done');
    await until(() => worker.state === 'exited', 'the stuck worker to be killed');
    expect(worker.stopReason).toBe('stuck');
    await pool.close(10, 10);
  });
});

describe('session affinity (fake workers)', () => {
  it('hint prefers the session’s worker and moves when it is busy; strictFailFast refuses; a dead worker is unavailable to strict modes', async () => {
    const setup = fakePoolSetup({ poolSize: 2 });
    const pool = new Pool(setup.config, setup.context);
    await pool.start(Promise.resolve(NO_HOST));
    await pool.execute('add', { a: 0, b: 0 }, {}, inSession(setup.affinity, 's1', 'hint'));
    const home = setup.affinity.workerFor('s1', 'default')!;
    const blocker = pool.execute('sleep', {}, {}, inSession(setup.affinity, 's1', 'hint')); // occupies home
    await until(() => setup.workers.find((w) => w.id === home)!.calls.length === 1, 'the session call');
    expect(await rejectionOf(pool.execute('add', { a: 1, b: 1 }, {}, inSession(setup.affinity, 's1', 'strictFailFast')))).toBeInstanceOf(WorkerBusyError);
    expect(await pool.execute('add', { a: 1, b: 1 }, {}, inSession(setup.affinity, 's1', 'hint'))).toBe(2);
    expect(setup.affinity.workerFor('s1', 'default')).not.toBe(home); // it moved
    setup.workers.find((w) => w.id === home)!.calls[0].reply('ok');
    await blocker;
    setup.affinity.bind('s1', 'default', home);
    setup.workers.find((w) => w.id === home)!.crash();
    await until(() => !pool.hasWorker(home), 'the worker to go');
    expect(await rejectionOf(pool.execute('add', { a: 1, b: 1 }, {}, inSession(setup.affinity, 's1', 'strictQueue')))).toBeInstanceOf(SessionWorkerUnavailableError);
    expect(await pool.execute('add', { a: 2, b: 1 }, {}, inSession(setup.affinity, 's1', 'hint'))).toBe(3);
    await pool.close(10, 10);
  });
});
