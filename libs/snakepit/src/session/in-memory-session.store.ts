import type { SessionRecord, SessionStore } from './session-store';

interface Entry {
  record: SessionRecord;
  state: Map<string, string>;
}

/** The default SessionStore: a Map in this process. */
export class InMemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, Entry>();

  async create(record: SessionRecord): Promise<boolean> {
    if (this.sessions.has(record.id)) return false;
    this.sessions.set(record.id, { record: structuredClone(record), state: new Map() });
    return true;
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const entry = this.sessions.get(id);
    return entry && structuredClone(entry.record);
  }

  async touch(id: string, now: number, binding?: { pool: string; workerId: string }): Promise<SessionRecord | undefined> {
    const entry = this.sessions.get(id);
    if (!entry) return undefined;
    entry.record.lastAccessedAt = now;
    if (binding) entry.record.workers = { ...entry.record.workers, [binding.pool]: binding.workerId };
    return structuredClone(entry.record);
  }

  async delete(id: string): Promise<boolean> {
    return this.sessions.delete(id);
  }

  async list(): Promise<SessionRecord[]> {
    return [...this.sessions.values()].map((entry) => structuredClone(entry.record));
  }

  async size(): Promise<number> {
    return this.sessions.size;
  }

  async getState(id: string, key: string): Promise<{ found: boolean; json?: string } | undefined> {
    const entry = this.sessions.get(id);
    if (!entry) return undefined;
    const json = entry.state.get(key);
    return json === undefined ? { found: false } : { found: true, json };
  }

  async setState(id: string, key: string, json: string): Promise<boolean> {
    const entry = this.sessions.get(id);
    if (!entry) return false;
    entry.state.set(key, json);
    return true;
  }

  async deleteState(id: string, key: string): Promise<boolean> {
    const entry = this.sessions.get(id);
    if (!entry) return false;
    entry.state.delete(key);
    return true;
  }

  async sweep(now: number): Promise<SessionRecord[]> {
    const expired: SessionRecord[] = [];
    for (const [id, entry] of this.sessions) {
      if (now - entry.record.lastAccessedAt >= entry.record.ttlMs) {
        this.sessions.delete(id);
        expired.push(entry.record);
      }
    }
    return expired;
  }
}
