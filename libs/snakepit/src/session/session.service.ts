import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { strictJson } from '../bridge/strict-json';
import { fromStandaloneJson, standaloneJson } from '../data/standalone-value';
import { InvalidCallError, SessionExistsError, SessionLimitError, SessionQuotaError } from '../errors';
import type { ResolvedOptions } from '../options/resolve-options';
import { SNAKEPIT_CONFIG } from '../snakepit.constants';
import { EventBus } from '../telemetry/event-bus';
import { SnakepitEvent } from '../telemetry/events';
import { assertStateKey, SessionAccess } from './session-access';
import { SessionAffinity } from './session-affinity';
import { isExpired, type SessionRecord, type SessionStore } from './session-store';

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
  /** Creates run one after another, so that maxSessions holds under concurrency. */
  private creating: Promise<unknown> = Promise.resolve();

  constructor(
    @Inject(SNAKEPIT_CONFIG) private readonly options: ResolvedOptions,
    private readonly access: SessionAccess,
    private readonly affinity: SessionAffinity,
    private readonly events: EventBus,
  ) {
    this.store = access.store;
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
    const { maxTtlMs } = this.options.sessions;
    const ttlMs = options.ttlMs ?? this.options.sessions.ttlMs;
    if (!Number.isInteger(ttlMs) || ttlMs < 1 || ttlMs > maxTtlMs) {
      problems.push(`ttlMs must be a whole number of milliseconds from 1 to ${maxTtlMs} (sessions.maxTtlMs)`);
    }
    const metadata = this.metadataOf(options.metadata, problems);
    if (problems.length) throw new InvalidCallError(problems);
    const max = this.options.sessions.maxSessions;
    // Full? Expired sessions the timer has not swept yet make room first.
    if ((await this.store.size()) >= max && ((await this.sweep()) === 0 || (await this.store.size()) >= max)) {
      throw new SessionLimitError(max);
    }
    const now = Date.now();
    const record: SessionRecord = { id: id ?? randomUUID(), createdAt: now, lastAccessedAt: now, ttlMs, metadata };
    if (!(await this.store.create(record))) throw new SessionExistsError(record.id);
    this.access.counters.created++;
    this.events.emit(SnakepitEvent.SessionCreated, { sessionId: record.id });
    return this.info(record);
  }

  /** The session; SessionNotFoundError when it does not exist or has expired. */
  async get(id: string): Promise<SessionInfo> {
    return this.info(await this.access.get(id));
  }

  /** Marks the session used now, restarting its TTL. */
  async touch(id: string): Promise<SessionInfo> {
    return this.info(await this.access.touch(id));
  }

  /** Deletes the session and its state; resolves whether it existed. */
  async delete(id: string): Promise<boolean> {
    const deleted = await this.store.delete(id);
    this.affinity.forget(id);
    if (deleted) {
      this.access.counters.deleted++;
      this.events.emit(SnakepitEvent.SessionDeleted, { sessionId: id });
    }
    return deleted;
  }

  async list(): Promise<SessionInfo[]> {
    const now = Date.now();
    return (await this.store.list()).filter((record) => !isExpired(record, now) || this.affinity.pinned(record.id)).map((record) => this.info(record));
  }

  async getState<T = unknown>(id: string, key: string): Promise<T | undefined> {
    const state = await this.access.getStateJson(id, key);
    return state.found ? (fromStandaloneJson(state.json!) as T) : undefined;
  }

  async setState(id: string, key: string, value: unknown): Promise<void> {
    await this.access.setStateJson(id, key, stateJson(key, value));
  }

  async deleteState(id: string, key: string): Promise<void> {
    await this.access.deleteState(id, key);
  }

  async stats(): Promise<SessionStats> {
    return { active: await this.store.size(), ...this.access.counters, maxSessions: this.options.sessions.maxSessions };
  }

  /** Removes every expired session now (the timer does it every sessions.sweepIntervalMs). */
  async sweep(): Promise<number> {
    const now = Date.now();
    const expired = await this.store.sweep(now, this.affinity.pinnedIds());
    for (const record of expired) this.access.expired(record, now);
    return expired.length;
  }

  /** A copy of the metadata, through JSON: plain values only, nested no deeper than
   *  MAX_JSON_DEPTH, at most sessions.maxMetadataBytes. */
  private metadataOf(metadata: unknown, problems: string[]): Record<string, unknown> {
    if (metadata === undefined) return {};
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
      problems.push('metadata must be an object');
      return {};
    }
    let json: string;
    try {
      json = strictJson(metadata);
    } catch (error) {
      problems.push(`metadata must be plain JSON: ${(error as Error).message}`);
      return {};
    }
    const bytes = Buffer.byteLength(json, 'utf8');
    const max = this.options.sessions.maxMetadataBytes;
    if (bytes > max) throw new SessionQuotaError(undefined, 'maxMetadataBytes', `its metadata is ${bytes} bytes of JSON, over ${max}`);
    return JSON.parse(json) as Record<string, unknown>;
  }

  private info(record: SessionRecord): SessionInfo {
    return {
      id: record.id,
      createdAt: new Date(record.createdAt).toISOString(),
      lastAccessedAt: new Date(record.lastAccessedAt).toISOString(),
      expiresAt: new Date(record.lastAccessedAt + record.ttlMs).toISOString(),
      ttlMs: record.ttlMs,
      metadata: structuredClone(record.metadata),
      workers: this.affinity.workersOf(record.id),
    };
  }
}

function stateJson(key: string, value: unknown): string {
  assertStateKey(key);
  if (value === undefined) throw new InvalidCallError([`the value of state "${key}" must be a value (undefined cannot be stored)`]);
  try {
    return standaloneJson(value, `state "${key}"`);
  } catch (error) {
    throw new InvalidCallError([`the value of ${(error as Error).message}; it cannot be stored`]);
  }
}
