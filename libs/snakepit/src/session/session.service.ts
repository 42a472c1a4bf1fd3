import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { InvalidCallError, SessionExistsError, SessionLimitError, SessionNotFoundError } from '../errors';
import { MAX_TIMER_MS } from '../options/options.schema';
import type { ResolvedOptions } from '../options/resolve-options';
import { SNAKEPIT_CONFIG } from '../snakepit.constants';
import { SnakepitEvent } from '../telemetry/events';
import { SnakepitEvents } from '../telemetry/snakepit-events';
import type { SessionRecord, SessionStore } from './session-store';

/** A session as SessionService shows it. */
export interface SessionInfo {
  id: string;
  createdAt: string;
  lastAccessedAt: string;
  expiresAt: string;
  ttlMs: number;
  metadata: Record<string, unknown>;
  /** The worker that served the session last, by pool name. */
  workers: Record<string, string>;
}

export interface SessionStats {
  active: number;
  created: number;
  expired: number;
  deleted: number;
  maxSessions: number;
}

const SESSION_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

/**
 * Sessions: related calls that share state and stick to one worker. State lives on the host
 * (in the SessionStore), so a worker restart loses none of it. Idle sessions expire after
 * their TTL; a periodic sweep removes them and emits `snakepit.session.expired`.
 */
@Injectable()
export class SessionService implements OnModuleInit, OnApplicationShutdown {
  private readonly store: SessionStore;
  private readonly logger = new Logger('Snakepit:sessions');
  private sweepTimer?: NodeJS.Timeout;
  private readonly counters = { created: 0, expired: 0, deleted: 0 };
  /** Creates run one after another, so that maxSessions holds under concurrency. */
  private creating: Promise<unknown> = Promise.resolve();
  /** The worker that serves each session, by pool: kept here, synchronously, so that calls
   *  racing each other agree (worker ids only mean something to this process anyway). */
  private readonly bindings = new Map<string, Map<string, string>>();
  /** Calls running per session: a session with a call in flight does not expire. */
  private readonly inFlight = new Map<string, number>();

  constructor(
    @Inject(SNAKEPIT_CONFIG) private readonly options: ResolvedOptions,
    private readonly events: SnakepitEvents,
  ) {
    this.store = options.sessions.store;
    // A recycled worker's sessions follow its successor (their state lives here, not in Python).
    events.on(SnakepitEvent.WorkerRecycled, ({ pool, workerId, successorId }) =>
      this.handOver(pool as string, workerId as string, successorId as string),
    );
  }

  onModuleInit(): void {
    this.sweepTimer = setInterval(
      () => this.sweep().catch((error: Error) => this.logger.error(`session sweep failed: ${error.message}`)),
      this.options.sessions.sweepIntervalMs,
    );
    this.sweepTimer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweepTimer);
  }

  /** Creates a session, with the given id or a generated one. */
  create(id?: string, options: { ttlMs?: number; metadata?: Record<string, unknown> } = {}): Promise<SessionInfo> {
    const created = this.creating.then(() => this.createNow(id, options));
    this.creating = created.catch(() => undefined);
    return created;
  }

  private async createNow(id: string | undefined, options: { ttlMs?: number; metadata?: Record<string, unknown> }): Promise<SessionInfo> {
    const problems: string[] = [];
    if (id !== undefined && (typeof id !== 'string' || !SESSION_ID_PATTERN.test(id))) {
      problems.push('id must be 1-128 letters, digits, "_", ".", ":" or "-", starting with a letter or digit');
    }
    const ttlMs = options.ttlMs ?? this.options.sessions.ttlMs;
    if (!Number.isInteger(ttlMs) || ttlMs < 1 || ttlMs > MAX_TIMER_MS) {
      problems.push(`ttlMs must be a whole number of milliseconds from 1 to ${MAX_TIMER_MS}`);
    }
    if (options.metadata !== undefined && (typeof options.metadata !== 'object' || options.metadata === null)) {
      problems.push('metadata must be an object');
    }
    if (problems.length) throw new InvalidCallError(problems);
    const max = this.options.sessions.maxSessions;
    // Full? Expired sessions the timer has not swept yet make room first.
    if ((await this.store.size()) >= max && ((await this.sweep()) === 0 || (await this.store.size()) >= max)) {
      throw new SessionLimitError(max);
    }
    const now = Date.now();
    const record: SessionRecord = {
      id: id ?? randomUUID(),
      createdAt: now,
      lastAccessedAt: now,
      ttlMs,
      metadata: structuredClone(options.metadata ?? {}),
      workers: {},
    };
    if (!(await this.store.create(record))) throw new SessionExistsError(record.id);
    this.counters.created++;
    this.events.emit(SnakepitEvent.SessionCreated, { sessionId: record.id });
    return toInfo(record);
  }

  /** The session; SessionNotFoundError when it does not exist or has expired. */
  async get(id: string): Promise<SessionInfo> {
    return toInfo(await this.live(id, await this.store.get(id)));
  }

  /** Marks the session used now, restarting its TTL. */
  async touch(id: string): Promise<SessionInfo> {
    await this.get(id);
    return toInfo(await this.live(id, await this.store.touch(id, Date.now())));
  }

  /** Deletes the session and its state; resolves whether it existed. */
  async delete(id: string): Promise<boolean> {
    const deleted = await this.store.delete(id);
    this.bindings.delete(id);
    if (deleted) {
      this.counters.deleted++;
      this.events.emit(SnakepitEvent.SessionDeleted, { sessionId: id });
    }
    return deleted;
  }

  async list(): Promise<SessionInfo[]> {
    const now = Date.now();
    return (await this.store.list()).filter((record) => !isExpired(record, now)).map(toInfo);
  }

  async getState<T = unknown>(id: string, key: string): Promise<T | undefined> {
    const state = await this.getStateJson(id, key);
    return state.found ? (JSON.parse(state.json!) as T) : undefined;
  }

  async setState(id: string, key: string, value: unknown): Promise<void> {
    const json = stateJson(key, value);
    await this.setStateJson(id, key, json);
  }

  async deleteState(id: string, key: string): Promise<void> {
    assertKey(key);
    await this.touch(id);
    if (!(await this.store.deleteState(id, key))) throw new SessionNotFoundError(id);
  }

  async stats(): Promise<SessionStats> {
    return { active: await this.store.size(), ...this.counters, maxSessions: this.options.sessions.maxSessions };
  }

  /** Removes every expired session now (the timer does it every sessions.sweepIntervalMs). */
  async sweep(): Promise<number> {
    const now = Date.now();
    for (const id of this.inFlight.keys()) await this.store.touch(id, now);
    const expired = await this.store.sweep(now);
    for (const record of expired) this.expired(record, now);
    return expired.length;
  }

  // ── used by the pool and the host bridge ──────────────────────────────

  /** State as JSON text, for the bridge (Python sends and receives JSON). Counts as use. */
  async getStateJson(id: string, key: string): Promise<{ found: boolean; json?: string }> {
    assertKey(key);
    await this.touch(id);
    const state = await this.store.getState(id, key);
    if (!state) throw new SessionNotFoundError(id);
    return state;
  }

  async setStateJson(id: string, key: string, json: string): Promise<void> {
    assertKey(key);
    await this.touch(id);
    if (!(await this.store.setState(id, key, json))) throw new SessionNotFoundError(id);
  }

  /** The worker that served the session last in this pool, if any. */
  workerFor(id: string, pool: string): string | undefined {
    return this.bindings.get(id)?.get(pool);
  }

  /** Records the worker that serves the session now (at once here, then in the store). */
  bind(id: string, pool: string, workerId: string): void {
    let byPool = this.bindings.get(id);
    if (!byPool) this.bindings.set(id, (byPool = new Map()));
    if (byPool.get(pool) === workerId) return;
    byPool.set(pool, workerId);
    this.store.touch(id, Date.now(), { pool, workerId }).catch(() => undefined);
  }

  /** Sessions bound to `workerId` in `pool` move to `successorId`. */
  private handOver(pool: string, workerId: string, successorId: string): void {
    for (const [id, byPool] of this.bindings) {
      if (byPool.get(pool) === workerId) this.bind(id, pool, successorId);
    }
  }

  /** A call in the session starts; until it ends, the session does not expire. */
  beginCall(id: string): void {
    this.inFlight.set(id, (this.inFlight.get(id) ?? 0) + 1);
  }

  /** A call in the session ended: its end counts as use. */
  endCall(id: string): void {
    const left = (this.inFlight.get(id) ?? 1) - 1;
    if (left > 0) this.inFlight.set(id, left);
    else this.inFlight.delete(id);
    this.store.touch(id, Date.now()).catch(() => undefined);
  }

  private async live(id: string, record: SessionRecord | undefined): Promise<SessionRecord> {
    if (!record) throw new SessionNotFoundError(id);
    const now = Date.now();
    if (isExpired(record, now) && !this.inFlight.has(id)) {
      if (await this.store.delete(id)) this.expired(record, now);
      throw new SessionNotFoundError(id);
    }
    return record;
  }

  private expired(record: SessionRecord, now: number): void {
    this.bindings.delete(record.id);
    this.counters.expired++;
    this.events.emit(SnakepitEvent.SessionExpired, { sessionId: record.id, idleMs: now - record.lastAccessedAt });
  }
}

function isExpired(record: SessionRecord, now: number): boolean {
  return now - record.lastAccessedAt >= record.ttlMs;
}

function toInfo(record: SessionRecord): SessionInfo {
  return {
    id: record.id,
    createdAt: new Date(record.createdAt).toISOString(),
    lastAccessedAt: new Date(record.lastAccessedAt).toISOString(),
    expiresAt: new Date(record.lastAccessedAt + record.ttlMs).toISOString(),
    ttlMs: record.ttlMs,
    metadata: structuredClone(record.metadata),
    workers: { ...record.workers },
  };
}

function assertKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > 256) {
    throw new InvalidCallError(['state key must be a non-empty string of at most 256 characters']);
  }
}

function stateJson(key: string, value: unknown): string {
  assertKey(key);
  const json = value === undefined ? undefined : JSON.stringify(value);
  if (json === undefined) throw new InvalidCallError([`the value of state "${key}" must be a JSON value`]);
  return json;
}
