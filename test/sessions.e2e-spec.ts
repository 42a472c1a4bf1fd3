import {
  InMemorySessionStore,
  InvalidCallError,
  SessionLimitError,
  SessionQuotaError,
  SessionStoreFullError,
  SessionNotFoundError,
  SessionService,
  SessionWorkerUnavailableError,
  SnakepitEvent,
  SnakepitEvents,
  ToolRegistryService,
  WorkerBusyError,
} from '@snakepit/nestjs';
import { bootApp, rejectionOf, type TestApp } from './support/app';
import { eventually } from './support/processes';

type Info = { session_id: string; ephemeral: boolean; pid: number };

describe('sessions', () => {
  let app: TestApp;
  let sessions: SessionService;
  beforeAll(async () => {
    // No read cache in the workers: these tests move sessions between workers on purpose.
    app = await bootApp({ poolSize: 2, env: { SNAKEPIT_STATE_CACHE_TTL_MS: '0' }, sessions: { sweepIntervalMs: 50, maxSessions: 50 } });
    sessions = app.module.get(SessionService);
    await app.pool.ready();
  });
  afterAll(() => app.close());

  const pidOf = (workerId: string) => app.pool.listWorkers().find((w) => w.id === workerId)!.pid;
  const fullSize = () => eventually(() => app.pool.stats().workers.ready === 2, 10_000, 'two ready workers');

  it('passes the session id to Python, and gives calls outside a session a short-lived one', async () => {
    const { id } = await sessions.create('user-42');
    const inside = await app.pool.executeInSession<Info>(id, 'session_info');
    expect(inside).toMatchObject({ session_id: 'user-42', ephemeral: false });
    const outside = await app.pool.execute<Info>('session_info');
    expect(outside.ephemeral).toBe(true);
    expect(outside.session_id).toMatch(/^ephemeral-/);
  });

  it('keeps session state on the host, through Python and back', async () => {
    const { id } = await sessions.create();
    for (const expected of [1, 2, 3]) {
      await expect(app.pool.executeInSession(id, 'counter')).resolves.toMatchObject({ counter: expected });
    }
    await expect(sessions.getState(id, 'counter')).resolves.toBe(3);
    await sessions.setState(id, 'greeting', { text: 'hello from Node' });
    await expect(app.pool.executeInSession(id, 'get_state', { key: 'greeting' })).resolves.toEqual({ text: 'hello from Node' });
    await sessions.deleteState(id, 'greeting');
    await expect(app.pool.executeInSession(id, 'get_state', { key: 'greeting' })).resolves.toBeNull();
  });

  it('loses no state when the session’s worker dies, and moves the session in hint mode', async () => {
    const { id } = await sessions.create();
    await app.pool.executeInSession(id, 'counter');
    const first = await app.pool.executeInSession<{ counter: number; pid: number }>(id, 'counter');
    expect(first.counter).toBe(2);
    const pinned = (await sessions.get(id)).workers.default;
    expect(pidOf(pinned)).toBe(first.pid);
    process.kill(first.pid, 'SIGKILL');
    await eventually(() => !app.pool.listWorkers().some((w) => w.id === pinned), 5000, 'the worker to be gone');
    const after = await app.pool.executeInSession<{ counter: number; pid: number }>(id, 'counter', {}, { affinity: 'hint' });
    expect(after.counter).toBe(3);
    expect(after.pid).not.toBe(first.pid);
    expect((await sessions.get(id)).workers.default).not.toBe(pinned);
    await fullSize();
  });

  it('sticks to the session’s worker in hint mode while it is free', async () => {
    const { id } = await sessions.create();
    const pids = [];
    for (let i = 0; i < 6; i++) pids.push((await app.pool.executeInSession<Info>(id, 'session_info')).pid);
    expect(new Set(pids).size).toBe(1);
  });

  it('strictQueue: every call of the session waits for its worker, under concurrent load', async () => {
    const { id } = await sessions.create();
    const { pid } = await app.pool.executeInSession<Info>(id, 'session_info');
    const inSession = Array.from({ length: 6 }, () =>
      app.pool.executeInSession<{ pid: number }>(id, 'sleep', { ms: 30 }, { affinity: 'strictQueue' }),
    );
    const others = Array.from({ length: 6 }, () => app.pool.execute<{ pid: number }>('sleep', { ms: 30 }));
    const results = await Promise.all(inSession);
    expect(results.map((r) => r.pid)).toEqual(Array(6).fill(pid));
    const otherPids = new Set((await Promise.all(others)).map((r) => r.pid));
    expect(otherPids.size).toBe(2); // the rest of the pool kept serving
  });

  it('strictFailFast: a second concurrent call of the session gets WorkerBusyError', async () => {
    const { id } = await sessions.create();
    await app.pool.executeInSession(id, 'ping');
    const long = app.pool.executeInSession(id, 'sleep', { ms: 400 }, { affinity: 'strictFailFast' });
    await eventually(() => app.pool.stats().busy > 0, 2000, 'the first call to run');
    const error = await rejectionOf(app.pool.executeInSession(id, 'ping', {}, { affinity: 'strictFailFast' }));
    expect(error).toBeInstanceOf(WorkerBusyError);
    expect(error.code).toBe('worker_busy');
    await long;
  });

  it('strict modes: a session whose worker is gone gets SessionWorkerUnavailableError', async () => {
    const { id } = await sessions.create();
    const { pid } = await app.pool.executeInSession<Info>(id, 'session_info');
    const pinned = (await sessions.get(id)).workers.default;
    process.kill(pid, 'SIGKILL');
    await eventually(() => !app.pool.listWorkers().some((w) => w.id === pinned), 5000, 'the worker to be gone');
    for (const affinity of ['strictQueue', 'strictFailFast'] as const) {
      const error = await rejectionOf(app.pool.executeInSession(id, 'ping', {}, { affinity }));
      expect(error).toBeInstanceOf(SessionWorkerUnavailableError);
      expect(error.code).toBe('session_worker_unavailable');
    }
    await fullSize();
  });

  it('expires idle sessions: the sweep removes them and emits an event', async () => {
    const expired: unknown[] = [];
    const off = app.module.get(SnakepitEvents).on(SnakepitEvent.SessionExpired, (payload) => expired.push(payload));
    try {
      const { id } = await sessions.create(undefined, { ttlMs: 150 });
      await app.pool.executeInSession(id, 'ping');
      await eventually(() => expired.some((e: any) => e.sessionId === id), 3000, 'the expiry event');
      await expect(sessions.get(id)).rejects.toBeInstanceOf(SessionNotFoundError);
      await expect(app.pool.executeInSession(id, 'ping')).rejects.toBeInstanceOf(SessionNotFoundError);
    } finally {
      off();
    }
  });

  it('refuses sessions beyond maxSessions, and names the problem with bad input', async () => {
    const created: Array<{ id: string }> = [];
    const error = await rejectionOf(
      (async () => {
        for (;;) created.push(await sessions.create());
      })(),
    );
    expect(error).toBeInstanceOf(SessionLimitError);
    expect((await sessions.stats()).active).toBe(50);
    await Promise.all(created.map((s) => sessions.delete(s.id)));
    await expect(sessions.create('bad id!')).rejects.toThrow(/id must be/);
    await expect(sessions.create('dup')).resolves.toMatchObject({ id: 'dup' });
    await expect(sessions.create('dup')).rejects.toThrow(/exists already/);
  });
});

describe('sessions under concurrency and failure', () => {
  let app: TestApp;
  let sessions: SessionService;
  beforeAll(async () => {
    app = await bootApp({ poolSize: 2, sessions: { sweepIntervalMs: 50, maxSessions: 5 } });
    sessions = app.module.get(SessionService);
    await app.pool.ready();
  });
  afterAll(() => app.close());

  it('sees host-side state changes in the next call, with the default read cache', async () => {
    const { id } = await sessions.create();
    await expect(app.pool.executeInSession(id, 'counter')).resolves.toMatchObject({ counter: 1 });
    await sessions.setState(id, 'counter', 100);
    await expect(app.pool.executeInSession(id, 'counter')).resolves.toMatchObject({ counter: 101 });
    await sessions.deleteState(id, 'counter');
    await expect(app.pool.executeInSession(id, 'counter')).resolves.toMatchObject({ counter: 1 });
    await sessions.delete(id);
  });

  it('pins concurrent first calls of a strict session to one worker', async () => {
    const { id } = await sessions.create();
    const results = await Promise.all(
      Array.from({ length: 4 }, () => app.pool.executeInSession<{ pid: number }>(id, 'sleep', { ms: 30 }, { affinity: 'strictQueue' })),
    );
    expect(new Set(results.map((r) => r.pid)).size).toBe(1);
    await sessions.delete(id);
  });

  it('keeps maxSessions under concurrent creates', async () => {
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => sessions.create()));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(5);
    expect(outcomes.filter((o) => o.status === 'rejected').every((o: any) => o.reason instanceof SessionLimitError)).toBe(true);
    for (const session of await sessions.list()) await sessions.delete(session.id);
  });

  it('makes room by sweeping when full of expired sessions', async () => {
    for (let i = 0; i < 5; i++) await sessions.create(undefined, { ttlMs: 1 });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await expect(sessions.create('after-expiry')).resolves.toMatchObject({ id: 'after-expiry' });
    await sessions.delete('after-expiry');
  });

  it('does not expire a session while a call in it runs, and counts the call as use', async () => {
    const { id } = await sessions.create(undefined, { ttlMs: 200 });
    await expect(app.pool.executeInSession(id, 'sleep', { ms: 600 })).resolves.toMatchObject({ slept_ms: 600 });
    await expect(sessions.touch(id)).resolves.toMatchObject({ id });
    expect((await sessions.list()).map((s) => s.id)).toContain(id);
    await sessions.delete(id);
  });

  it('rejects a TTL beyond the timer limit and does not share metadata with callers', async () => {
    await expect(sessions.create('too-long', { ttlMs: 1e16 })).rejects.toThrow(/ttlMs must be/);
    await expect(sessions.get('too-long')).rejects.toBeInstanceOf(SessionNotFoundError);
    const info = await sessions.create('meta', { metadata: { a: { b: 1 } } });
    (info.metadata.a as any).b = 999;
    expect((await sessions.get('meta')).metadata).toEqual({ a: { b: 1 } });
    await sessions.delete('meta');
  });
});

describe('sessions without a sweep in between', () => {
  let app: TestApp;
  let sessions: SessionService;
  beforeAll(async () => {
    app = await bootApp({ poolSize: 1, sessions: { sweepIntervalMs: 600_000 } });
    sessions = app.module.get(SessionService);
    app.module.get(ToolRegistryService).register('drop_session', (_args, context) => sessions.delete(context.sessionId!));
    await app.pool.ready();
  });
  afterAll(() => app.close());

  it('counts the end of a call that outlived the TTL as use: the session is still there', async () => {
    const { id } = await sessions.create(undefined, { ttlMs: 200 });
    await app.pool.executeInSession(id, 'sleep', { ms: 500 });
    await expect(sessions.touch(id)).resolves.toMatchObject({ id });
    await sessions.delete(id);
  });

  it('gives SessionNotFoundError when Python reads the state of a session deleted during its call', async () => {
    const { id } = await sessions.create();
    const error = await rejectionOf(app.pool.executeInSession(id, 'state_after_host_call', { name: 'drop_session', key: 'k' }));
    expect(error).toBeInstanceOf(SessionNotFoundError);
    expect(error.sessionId).toBe(id);
  });
});

describe('a session store that fails', () => {
  it('logs a failed sweep instead of crashing the host', async () => {
    const store = new InMemorySessionStore();
    let sweeps = 0;
    store.sweep = async () => {
      sweeps++;
      throw new Error('store down');
    };
    const app = await bootApp({ poolingEnabled: false, sessions: { store, sweepIntervalMs: 20 } });
    try {
      await eventually(() => sweeps >= 3, 2000, 'three failed sweeps');
      await expect(app.module.get(SessionService).create('still-alive')).resolves.toMatchObject({ id: 'still-alive' });
    } finally {
      await app.close();
    }
  });
});

describe('session limits', () => {
  let app: TestApp;
  let sessions: SessionService;
  let store: InMemorySessionStore;
  beforeAll(async () => {
    store = new InMemorySessionStore({ maxTotalBytes: 20_000 });
    app = await bootApp({
      poolSize: 1,
      sessions: { store, ttlMs: 30_000, maxTtlMs: 60_000, maxValueBytes: 1000, maxKeys: 3, maxSessionBytes: 2500, maxMetadataBytes: 200 },
    });
    sessions = app.module.get(SessionService);
    await app.pool.ready();
  });
  afterAll(() => app.close());

  it('bounds the TTL a caller picks, and the size and depth of metadata', async () => {
    expect((await rejectionOf(sessions.create(undefined, { ttlMs: 60_001 }))).message).toMatch(/ttlMs must be .* to 60000 \(sessions\.maxTtlMs\)/);
    const big = await rejectionOf(sessions.create(undefined, { metadata: { text: 'x'.repeat(300) } }));
    expect(big).toBeInstanceOf(SessionQuotaError);
    expect(big.message).toMatch(/sessions\.maxMetadataBytes/);
    let deep: unknown = 1;
    for (let i = 0; i < 5000; i++) deep = { d: deep };
    const nested = await rejectionOf(sessions.create(undefined, { metadata: { deep } }));
    expect(nested).toBeInstanceOf(InvalidCallError);
    expect(nested.message).toMatch(/nests more than 100 levels deep/);
    expect(await sessions.stats()).toMatchObject({ active: 0 });
  });

  it('bounds a value, the keys and the bytes of a session, from the host and from Python alike', async () => {
    const { id } = await sessions.create();
    await expect(sessions.setState(id, 'big', 'x'.repeat(1000))).rejects.toBeInstanceOf(SessionQuotaError);
    const fromPython = await app.pool.executeInSession<{ type: string; code: string }>(id, 'set_state_error', { key: 'big', value: 'x'.repeat(1000) });
    expect(fromPython).toMatchObject({ type: 'SessionQuotaError', code: 'session_quota_exceeded' });
    for (const key of ['a', 'b']) await sessions.setState(id, key, 'y'.repeat(900));
    const full = await rejectionOf(sessions.setState(id, 'c', 'z'.repeat(900)));
    expect(full.message).toMatch(/would make it hold \d+ bytes, over 2500 \(sessions\.maxSessionBytes\)/);
    await sessions.setState(id, 'a', 'small'); // replacing a value frees its bytes
    await sessions.setState(id, 'c', 'z'.repeat(900));
    expect((await rejectionOf(sessions.setState(id, 'd', 1))).message).toMatch(/3 state keys.*sessions\.maxKeys/);
    expect(await sessions.getState(id, 'c')).toBe('z'.repeat(900));
    let deep: unknown = 1;
    for (let i = 0; i < 200; i++) deep = [deep];
    await expect(sessions.setState(id, 'a', deep)).rejects.toBeInstanceOf(InvalidCallError);
    await sessions.delete(id);
  });

  it('bounds the whole in-memory store, and gives the room back when sessions go', async () => {
    const ids: string[] = [];
    const error = await rejectionOf(
      (async () => {
        for (;;) {
          const { id } = await sessions.create();
          ids.push(id);
          await sessions.setState(id, 'v', 'w'.repeat(900));
        }
      })(),
    );
    expect(error).toBeInstanceOf(SessionStoreFullError);
    expect(store.bytes).toBeLessThanOrEqual(20_000);
    await Promise.all(ids.map((id) => sessions.delete(id)));
    expect(store.bytes).toBe(0);
  });
});
