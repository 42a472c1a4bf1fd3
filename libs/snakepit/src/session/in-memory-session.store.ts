import { SessionQuotaError, SessionStoreFullError } from '../errors';
import { isExpired, type AccessTime, type SessionLimits, type SessionLookup, type SessionRecord, type SessionStore, type StateValue } from './session-store';

interface Entry {
  record: SessionRecord;
  state: Map<string, string>;
  /** Its metadata, keys and values, as UTF-8 bytes. */
  bytes: number;
}

const byteLength = (text: string) => Buffer.byteLength(text, 'utf8');

/**
 * The default SessionStore: a Map in this process. It holds at most `maxTotalBytes` of session
 * metadata, keys and values together (SessionStoreFullError beyond), besides the small fixed
 * bookkeeping of each session.
 */
export class InMemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, Entry>();
  private totalBytes = 0;
  private readonly maxTotalBytes: number;

  constructor(options: { maxTotalBytes?: number } = {}) {
    this.maxTotalBytes = options.maxTotalBytes ?? Number.POSITIVE_INFINITY;
  }

  /** What the sessions hold, in bytes (their metadata, keys and values). */
  get bytes(): number {
    return this.totalBytes;
  }

  async create(record: SessionRecord): Promise<boolean> {
    if (this.sessions.has(record.id)) return false;
    const bytes = byteLength(JSON.stringify(record.metadata));
    this.reserve(bytes);
    this.sessions.set(record.id, { record: structuredClone(record), state: new Map(), bytes });
    return true;
  }

  async get(id: string, at: AccessTime): Promise<SessionLookup> {
    return this.use(id, at, false, () => undefined);
  }

  async touch(id: string, at: AccessTime): Promise<SessionLookup> {
    return this.use(id, at, true, () => undefined);
  }

  async delete(id: string): Promise<boolean> {
    const entry = this.sessions.get(id);
    if (entry) this.remove(id, entry);
    return entry !== undefined;
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

  async setState(id: string, key: string, json: string, at: AccessTime, limits: SessionLimits): Promise<SessionLookup> {
    return this.use(id, at, true, (entry): undefined => {
      const previous = entry.state.get(key);
      if (previous === undefined && entry.state.size >= limits.maxKeys) {
        throw new SessionQuotaError(id, 'maxKeys', `it has ${entry.state.size} state keys, the most it may hold`);
      }
      const growth = byteLength(key) + byteLength(json) - (previous === undefined ? 0 : byteLength(key) + byteLength(previous));
      if (entry.bytes + growth > limits.maxSessionBytes) {
        throw new SessionQuotaError(id, 'maxSessionBytes', `storing "${key}" would make it hold ${entry.bytes + growth} bytes, over ${limits.maxSessionBytes}`);
      }
      this.reserve(growth);
      entry.state.set(key, json);
      entry.bytes += growth;
      return undefined;
    });
  }

  async deleteState(id: string, key: string, at: AccessTime): Promise<SessionLookup> {
    return this.use(id, at, true, (entry): undefined => {
      const previous = entry.state.get(key);
      if (previous === undefined) return undefined;
      entry.state.delete(key);
      const freed = byteLength(key) + byteLength(previous);
      entry.bytes -= freed;
      this.totalBytes -= freed;
      return undefined;
    });
  }

  async sweep(now: number, pinned: ReadonlySet<string>): Promise<SessionRecord[]> {
    const expired: SessionRecord[] = [];
    for (const [id, entry] of this.sessions) {
      if (pinned.has(id)) entry.record.lastAccessedAt = now;
      else if (isExpired(entry.record, now)) {
        this.remove(id, entry);
        expired.push(entry.record);
      }
    }
    return expired;
  }

  /** Room for `bytes` more, or SessionStoreFullError. */
  private reserve(bytes: number): void {
    if (bytes > 0 && this.totalBytes + bytes > this.maxTotalBytes) throw new SessionStoreFullError(this.maxTotalBytes);
    this.totalBytes += bytes;
  }

  private remove(id: string, entry: Entry): void {
    this.sessions.delete(id);
    this.totalBytes -= entry.bytes;
  }

  /** One operation on a live session (`touch`: counting as use), or why there is none. */
  private use<T>(id: string, at: AccessTime, touch: boolean, operation: (entry: Entry) => T): SessionLookup<T> {
    const entry = this.sessions.get(id);
    if (!entry) return { status: 'missing' };
    if (!at.pinned && isExpired(entry.record, at.now)) {
      this.remove(id, entry);
      return { status: 'expired', record: entry.record };
    }
    if (touch) entry.record.lastAccessedAt = at.now;
    const value = operation(entry);
    return { status: 'live', record: structuredClone(entry.record), value };
  }
}
