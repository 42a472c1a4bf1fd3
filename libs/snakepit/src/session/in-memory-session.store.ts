import { isExpired, type AccessTime, type SessionLookup, type SessionRecord, type SessionStore, type StateValue } from './session-store';

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

  async get(id: string, at: AccessTime): Promise<SessionLookup> {
    return this.use(id, at, false, () => undefined);
  }

  async touch(id: string, at: AccessTime): Promise<SessionLookup> {
    return this.use(id, at, true, () => undefined);
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

  async getState(id: string, key: string, at: AccessTime): Promise<SessionLookup<StateValue>> {
    return this.use(id, at, true, (entry) => {
      const json = entry.state.get(key);
      return json === undefined ? { found: false } : { found: true, json };
    });
  }

  async setState(id: string, key: string, json: string, at: AccessTime): Promise<SessionLookup> {
    return this.use(id, at, true, (entry) => void entry.state.set(key, json));
  }

  async deleteState(id: string, key: string, at: AccessTime): Promise<SessionLookup> {
    return this.use(id, at, true, (entry) => void entry.state.delete(key));
  }

  async sweep(now: number, pinned: ReadonlySet<string>): Promise<SessionRecord[]> {
    const expired: SessionRecord[] = [];
    for (const [id, entry] of this.sessions) {
      if (pinned.has(id)) entry.record.lastAccessedAt = now;
      else if (isExpired(entry.record, now)) {
        this.sessions.delete(id);
        expired.push(entry.record);
      }
    }
    return expired;
  }

  /** One operation on a live session (`touch`: counting as use), or why there is none. */
  private use<T>(id: string, at: AccessTime, touch: boolean, operation: (entry: Entry) => T): SessionLookup<T> {
    const entry = this.sessions.get(id);
    if (!entry) return { status: 'missing' };
    if (!at.pinned && isExpired(entry.record, at.now)) {
      this.sessions.delete(id);
      return { status: 'expired', record: entry.record };
    }
    if (touch) entry.record.lastAccessedAt = at.now;
    const value = operation(entry);
    return { status: 'live', record: structuredClone(entry.record), value };
  }
}
