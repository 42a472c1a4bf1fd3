/** What the library keeps about one session. */
export interface SessionRecord {
  id: string;
  createdAt: number;
  lastAccessedAt: number;
  ttlMs: number;
  metadata: Record<string, unknown>;
}

/** When a session is looked at: `now`, and whether a call of the session is in flight, in
 *  which case it does not expire (`pinned`). */
export interface AccessTime {
  now: number;
  pinned: boolean;
}

/**
 * A session as an operation found it: live (with what the operation read), expired (the store
 * removed it, and says so once, so the library can report the expiry) or missing.
 */
export type SessionLookup<T = undefined> =
  | { status: 'live'; record: SessionRecord; value: T }
  | { status: 'expired'; record: SessionRecord }
  | { status: 'missing' };

/** What one session may hold, passed to every write so that the store checks it in the same
 *  step: a write that would go over it throws SessionQuotaError and stores nothing. */
export interface SessionLimits {
  maxKeys: number;
  /** Metadata, keys and values together, as UTF-8 bytes. */
  maxSessionBytes: number;
}

/** A state value as JSON text; `found: false` when the key is not set. */
export interface StateValue {
  found: boolean;
  json?: string;
}

/**
 * Where sessions and their state live. The default keeps them in this process's memory; a
 * shared store (Redis, a database) can replace it through the `sessions.store` option. Every
 * operation is one round trip: the ones that count as use (touch and the state operations)
 * update `lastAccessedAt` to `at.now` in the same step, and every one that finds a session idle
 * for its `ttlMs` (and not `pinned`) removes it and answers `expired`. State values are JSON
 * text, so the store never holds a reference into caller objects. A store bounds what it holds:
 * setState enforces `limits` (SessionQuotaError), and a store that is full throws
 * SessionStoreFullError rather than grow without end.
 */
export interface SessionStore {
  /** Adds a session; resolves false when the id is taken. */
  create(record: SessionRecord): Promise<boolean>;
  /** The session, without counting as use. */
  get(id: string, at: AccessTime): Promise<SessionLookup>;
  /** Marks the session used. */
  touch(id: string, at: AccessTime): Promise<SessionLookup>;
  /** Removes a session and its state; resolves whether it was there. */
  delete(id: string): Promise<boolean>;
  /** Every session, expired ones included (the sweep removes those). */
  list(): Promise<SessionRecord[]>;
  size(): Promise<number>;
  getState(id: string, key: string, at: AccessTime): Promise<SessionLookup<StateValue>>;
  setState(id: string, key: string, json: string, at: AccessTime, limits: SessionLimits): Promise<SessionLookup>;
  deleteState(id: string, key: string, at: AccessTime): Promise<SessionLookup>;
  /** Removes every session idle for longer than its TTL at `now`, except those in `pinned`
   *  (they have calls in flight); resolves with the removed ones. */
  sweep(now: number, pinned: ReadonlySet<string>): Promise<SessionRecord[]>;
}

/** Whether the session has been idle for its TTL at `now`. */
export function isExpired(record: SessionRecord, now: number): boolean {
  return now - record.lastAccessedAt >= record.ttlMs;
}
