import { Inject, Injectable } from '@nestjs/common';
import { InvalidCallError, SessionNotFoundError, SessionQuotaError } from '../errors';
import type { ResolvedOptions, SessionSettings } from '../options/resolve-options';
import { SNAKEPIT_CONFIG } from '../snakepit.constants';
import { EventBus } from '../telemetry/event-bus';
import { SnakepitEvent } from '../telemetry/events';
import { SessionAffinity } from './session-affinity';
import type { AccessTime, SessionLookup, SessionRecord, SessionStore, StateValue } from './session-store';

/**
 * The session store with the library's rules on top: a missing or expired session is
 * SessionNotFoundError (an expiry found on the way is reported once), state keys are checked,
 * and every operation is one store round trip. Internal: SessionService and the host bridge
 * (Python's state calls, as JSON text) use it.
 */
@Injectable()
export class SessionAccess {
  readonly store: SessionStore;
  readonly counters = { created: 0, expired: 0, deleted: 0 };
  private readonly settings: SessionSettings;

  constructor(
    @Inject(SNAKEPIT_CONFIG) options: ResolvedOptions,
    private readonly affinity: SessionAffinity,
    private readonly events: EventBus,
  ) {
    this.store = options.sessions.store;
    this.settings = options.sessions;
  }

  get(id: string): Promise<SessionRecord> {
    return this.live(id, (at) => this.store.get(id, at)).then(({ record }) => record);
  }

  /** Marks the session used now, restarting its TTL. */
  touch(id: string): Promise<SessionRecord> {
    return this.live(id, (at) => this.store.touch(id, at)).then(({ record }) => record);
  }

  /** touch(), for the end of a call: the session may be gone by then, and that is fine. */
  touchQuietly(id: string): void {
    this.store.touch(id, this.at(id)).then((found) => this.noteExpiry(found), () => undefined);
  }

  /** State as JSON text (Python sends and receives JSON). Counts as use. */
  async getStateJson(id: string, key: string): Promise<StateValue> {
    assertStateKey(key);
    return (await this.live(id, (at) => this.store.getState(id, key, at))).value;
  }

  /** Sets a state value given as standalone JSON text (the value model's encoder made it, with its
   *  depth limit, whichever side the value came from), no larger than sessions.maxValueBytes,
   *  within the session's limits. */
  async setStateJson(id: string, key: string, json: string): Promise<void> {
    assertStateKey(key);
    const bytes = Buffer.byteLength(json, 'utf8');
    if (bytes > this.settings.maxValueBytes) {
      throw new SessionQuotaError(id, 'maxValueBytes', `the value of "${key}" is ${bytes} bytes of JSON, over ${this.settings.maxValueBytes}`);
    }
    const limits = { maxKeys: this.settings.maxKeys, maxSessionBytes: this.settings.maxSessionBytes };
    await this.live(id, (at) => this.store.setState(id, key, json, at, limits));
  }

  async deleteState(id: string, key: string): Promise<void> {
    assertStateKey(key);
    await this.live(id, (at) => this.store.deleteState(id, key, at));
  }

  /** The session is gone: counted and announced once. */
  expired(record: SessionRecord, now: number): void {
    this.affinity.forget(record.id);
    this.counters.expired++;
    this.events.emit(SnakepitEvent.SessionExpired, { sessionId: record.id, idleMs: now - record.lastAccessedAt });
  }

  private at(id: string): AccessTime {
    return { now: Date.now(), pinned: this.affinity.pinned(id) };
  }

  /** One store operation on a live session; SessionNotFoundError when there is none. */
  private async live<T>(id: string, operation: (at: AccessTime) => Promise<SessionLookup<T>>): Promise<{ record: SessionRecord; value: T }> {
    const found = await operation(this.at(id));
    if (found.status === 'live') return found;
    this.noteExpiry(found);
    if (found.status === 'missing') this.affinity.forget(id); // gone by another way (a shared store's other host)
    throw new SessionNotFoundError(id);
  }

  private noteExpiry(found: SessionLookup<unknown>): void {
    if (found.status === 'expired') this.expired(found.record, Date.now());
  }
}

export function assertStateKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > 256) {
    throw new InvalidCallError(['state key must be a non-empty string of at most 256 characters']);
  }
}
