/** What the library keeps about one session. */
export interface SessionRecord {
  id: string;
  createdAt: number;
  lastAccessedAt: number;
  ttlMs: number;
  metadata: Record<string, unknown>;
  /** The worker that served the session last, by pool name. */
  workers: Record<string, string>;
}

/**
 * Where sessions and their state live. The default keeps them in this process's memory; a
 * shared store (Redis, a database) can replace it through the `sessions.store` option.
 * State values are JSON text, so the store never holds a reference into caller objects.
 */
export interface SessionStore {
  /** Adds a session; resolves false when the id is taken. */
  create(record: SessionRecord): Promise<boolean>;
  get(id: string): Promise<SessionRecord | undefined>;
  /** Updates lastAccessedAt (and, when given, the worker for a pool); undefined when absent. */
  touch(id: string, now: number, binding?: { pool: string; workerId: string }): Promise<SessionRecord | undefined>;
  /** Removes a session and its state; resolves whether it was there. */
  delete(id: string): Promise<boolean>;
  list(): Promise<SessionRecord[]>;
  size(): Promise<number>;
  /** undefined when the session is absent; { found: false } when the key is not set. */
  getState(id: string, key: string): Promise<{ found: boolean; json?: string } | undefined>;
  /** Resolves false when the session is absent. */
  setState(id: string, key: string, json: string): Promise<boolean>;
  /** Resolves false when the session is absent. */
  deleteState(id: string, key: string): Promise<boolean>;
  /** Removes every session idle for longer than its TTL at `now`; resolves with them. */
  sweep(now: number): Promise<SessionRecord[]>;
}
