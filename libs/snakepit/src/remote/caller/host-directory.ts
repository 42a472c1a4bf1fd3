import type { Subscription } from 'rxjs';
import type { PoolLoad } from '../../pool/pool.types';
import { REMOTE_PROTOCOL, type HostAnnouncement, type HostLoad } from '../remote-wire';
import { isSubjectToken, type RemoteSubjects } from '../remote-subjects';
import type { ResolvedRemoteOptions } from '../remote-options';
import { isNoResponders, type RemoteClient } from './remote-client';

/** A host as a caller sees it. */
export interface RemoteHostView {
  hostId: string;
  startedAt: string;
  lastSeenAt: string;
  defaultPool: string;
  pools: HostLoad;
  /** This caller's calls running there now. */
  inFlight: number;
}

interface KnownHost {
  id: string;
  announcement: HostAnnouncement;
  lastSeenAt: number;
  /** Roll calls in a row it did not answer. */
  missed: number;
  /** It said it is shutting down: no new calls go there; the ones running there end there. */
  closing: boolean;
  /** This caller's calls there now, by pool name as sent (undefined: the host's default). */
  mine: Map<string, number>;
}

/** How long a "nobody listens" waits to see whether this caller's own connection drops too
 *  (the broker shutting down) before the host counts as gone. */
const NOBODY_CONFIRM_MS = 100;

/**
 * The hosts this caller knows and how busy each pool of theirs is. It learns them by a roll
 * call (every host answers, rollCallIntervalMs apart) and keeps their load fresh from every
 * answer of theirs; a host that misses rollCallMisses roll calls in a row, or that the broker
 * says nobody listens for, is dropped, and the calls waiting on it hear so at once.
 */
export class HostDirectory {
  private readonly known = new Map<string, KnownHost>();
  private readonly lostListeners = new Map<string, Set<(why: string) => void>>();
  private readonly changeListeners = new Set<() => void>();
  private timer?: NodeJS.Timeout;
  private rolling?: Promise<void>;
  private readonly probes = new Map<string, Promise<boolean>>();
  /** Whether the last roll call reached the broker. */
  brokerReachable = true;
  private stopped = false;

  constructor(
    private readonly client: RemoteClient,
    private readonly subjects: RemoteSubjects,
    private readonly options: ResolvedRemoteOptions,
  ) {}

  start(): void {
    void this.rollCall();
    this.timer = setInterval(() => void this.rollCall(), this.options.rollCallIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** Asks every host to answer, and updates what is known from the answers (at most one at a time). */
  rollCall(): Promise<void> {
    this.rolling ??= this.gather().finally(() => (this.rolling = undefined));
    return this.rolling;
  }

  hosts(): RemoteHostView[] {
    return [...this.known.values()].map((host) => ({
      hostId: host.id,
      startedAt: new Date(host.announcement.startedAt).toISOString(),
      lastSeenAt: new Date(host.lastSeenAt).toISOString(),
      defaultPool: host.announcement.defaultPool,
      pools: host.announcement.pools,
      inFlight: [...host.mine.values()].reduce((sum, n) => sum + n, 0),
    }));
  }

  has(hostId: string): boolean {
    return this.known.has(hostId);
  }

  /** Whether some known host serves `pool` (undefined: its default pool). */
  serves(pool: string | undefined): boolean {
    return [...this.known.values()].some((host) => this.poolLoad(host, pool) !== undefined);
  }

  /**
   * The host with the most room for `pool`, not in `exclude`: first by free worker slots (a call
   * there starts at once), then by what it takes ahead (a call there waits in its queue). With
   * `evenIfBusy`, the least busy one when none has room (to ask it: its answer says how busy it
   * really is).
   */
  pick(pool: string | undefined, exclude: ReadonlySet<string>, evenIfBusy = false): string | undefined {
    let best: string | undefined;
    let bestRoom = -Infinity;
    let bestIdle = -Infinity;
    for (const host of this.known.values()) {
      if (exclude.has(host.id) || host.closing) continue;
      const load = this.poolLoad(host, pool);
      if (!load || load.status !== 'ready') continue;
      const used = Math.max(load.inFlight, this.mineIn(host, pool));
      const idle = Math.max(0, load.capacity - used);
      const room = load.capacity + load.ahead - used;
      const better = idle > bestIdle || (idle === bestIdle && (room > bestRoom || (room === bestRoom && Math.random() < 0.5)));
      if (better) {
        best = host.id;
        bestIdle = idle;
        bestRoom = room;
      }
    }
    return bestRoom > 0 || evenIfBusy ? best : undefined;
  }

  /** A call of this caller starts on the host / ends there. */
  begin(hostId: string, pool: string | undefined): void {
    const host = this.known.get(hostId);
    if (host) host.mine.set(pool ?? '', (host.mine.get(pool ?? '') ?? 0) + 1);
  }

  end(hostId: string, pool: string | undefined): void {
    const host = this.known.get(hostId);
    const now = host?.mine.get(pool ?? '');
    if (host && now !== undefined) host.mine.set(pool ?? '', Math.max(0, now - 1));
    this.changed();
  }

  /** What a host said of its load in an answer. */
  noteLoad(hostId: string, pools: HostLoad | undefined): void {
    const host = this.known.get(hostId);
    if (!host || !pools || typeof pools !== 'object') return;
    host.announcement = { ...host.announcement, pools };
    host.lastSeenAt = Date.now();
    host.missed = 0;
    this.changed();
  }

  /** The host said it is shutting down: new calls go elsewhere, while the calls running there
   *  finish there (it answers them before it closes); it is dropped once it stops answering. */
  noteClosing(hostId: string): void {
    const host = this.known.get(hostId);
    if (host) host.closing = true;
  }

  /** Forgets a host (the broker said nobody listens for it, or it missed its roll calls); its
   *  calls hear `why`. */
  drop(hostId: string, why: string): void {
    if (!this.known.delete(hostId)) return;
    const listeners = this.lostListeners.get(hostId);
    this.lostListeners.delete(hostId);
    for (const listener of listeners ?? []) listener(why);
    this.changed();
  }

  /**
   * Asks one host whether it is there (its stats subject): true when it answers, false when the
   * broker says nobody listens for it (then it is dropped, and its calls hear so at once) or it
   * says nothing for hostLostAfterMs. While the broker is out of reach the answer is true: who is
   * gone cannot be told then. One probe per host at a time.
   */
  probe(hostId: string): Promise<boolean> {
    let running = this.probes.get(hostId);
    if (!running) {
      running = this.ask(hostId).finally(() => this.probes.delete(hostId));
      this.probes.set(hostId, running);
    }
    return running;
  }

  private async ask(hostId: string): Promise<boolean> {
    try {
      await this.client.connect();
    } catch {
      return true;
    }
    const answered = await new Promise<boolean | 'gone'>((resolve) => {
      let subscription: Subscription | undefined;
      let done = false;
      const finish = (result: boolean | 'gone') => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        subscription?.unsubscribe();
        resolve(result);
      };
      const timer = setTimeout(() => finish(false), this.options.hostLostAfterMs);
      subscription = this.client.request<unknown>(this.subjects.host(hostId).stats, { v: REMOTE_PROTOCOL }).subscribe({
        next: () => finish(true),
        error: (error: unknown) => finish(isNoResponders(error) ? 'gone' : true),
      });
      if (done) subscription.unsubscribe();
    });
    if (answered === true) return true;
    if (answered === 'gone') return !(await this.nobodyListens(hostId, 'its connection to the broker is gone'));
    this.drop(hostId, `it did not answer a probe within ${this.options.hostLostAfterMs} ms`);
    return false;
  }

  /**
   * The broker said nobody listens on the host's subjects. That is the host gone (it is dropped,
   * and its calls hear `why`), unless the broker is coming or going:
   * - this caller's connection is new (less than hostLostAfterMs old: the broker just came back)
   *   and the host has not been heard from since: hosts reconnect and subscribe again too, a
   *   moment after the caller may have;
   * - this caller's connection drops within NOBODY_CONFIRM_MS: a broker shutting down closes its
   *   connections one after another, the host's before this caller's.
   * A host still reconnecting is not lost: its running calls go on, and their answers get
   * through. Resolves whether it was dropped. (With a client that does not say when it
   * connected, the host is dropped at once.)
   */
  async nobodyListens(hostId: string, why: string): Promise<boolean> {
    const host = this.known.get(hostId);
    const since = this.client.connectedAt;
    if (since !== undefined) {
      if (host && host.lastSeenAt < since && Date.now() - since < this.options.hostLostAfterMs) return false;
      await new Promise((resolve) => setTimeout(resolve, NOBODY_CONFIRM_MS));
      if (!this.client.connected || this.client.connectedAt !== since) return false;
    }
    this.drop(hostId, why);
    return true;
  }

  /** Calls `listener` if the host is dropped; the returned function stops listening. */
  onLost(hostId: string, listener: (why: string) => void): () => void {
    let set = this.lostListeners.get(hostId);
    if (!set) this.lostListeners.set(hostId, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Calls `listener` whenever capacity may have changed; the returned function stops listening. */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.changeListeners) listener();
  }

  /** This caller's calls in the pool of `host` a call to `pool` runs in: a call sent without a
   *  pool runs in the host's default one, and so counts there, as one sent to it by name. */
  private mineIn(host: KnownHost, pool: string | undefined): number {
    const target = pool ?? host.announcement.defaultPool;
    let calls = 0;
    for (const [sent, n] of host.mine) if ((sent === '' ? host.announcement.defaultPool : sent) === target) calls += n;
    return calls;
  }

  private poolLoad(host: KnownHost, pool: string | undefined): PoolLoad | undefined {
    return host.announcement.pools[pool ?? host.announcement.defaultPool];
  }

  private async gather(): Promise<void> {
    if (this.stopped) return;
    const answered = new Set<string>();
    try {
      await this.client.connect();
    } catch {
      this.brokerReachable = false;
      return;
    }
    this.brokerReachable = true;
    await new Promise<void>((resolve) => {
      let subscription: Subscription | undefined;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        subscription?.unsubscribe();
        resolve();
      };
      const timer = setTimeout(finish, this.options.rollCallWindowMs);
      subscription = this.client.request<HostAnnouncement>(this.subjects.rollCall, { v: REMOTE_PROTOCOL }).subscribe({
        next: (announcement) => {
          if (!isAnnouncement(announcement) || answered.has(announcement.hostId)) return;
          answered.add(announcement.hostId);
          this.learn(announcement);
        },
        error: (error: unknown) => {
          if (!isNoResponders(error)) this.brokerReachable = false;
          finish();
        },
      });
      if (done) subscription.unsubscribe();
    });
    if (!this.brokerReachable) return;
    for (const host of [...this.known.values()]) {
      if (answered.has(host.id)) continue;
      if (++host.missed >= this.options.rollCallMisses) this.drop(host.id, `it missed ${host.missed} roll calls in a row`);
      else if ([...host.mine.values()].some((n) => n > 0)) void this.probe(host.id); // calls run there: is it gone?
    }
  }

  private learn(announcement: HostAnnouncement): void {
    const host = this.known.get(announcement.hostId);
    if (host) {
      host.announcement = announcement;
      host.lastSeenAt = Date.now();
      host.missed = 0;
    } else {
      this.known.set(announcement.hostId, { id: announcement.hostId, announcement, lastSeenAt: Date.now(), missed: 0, closing: false, mine: new Map() });
    }
    this.changed();
  }
}

function isAnnouncement(value: unknown): value is HostAnnouncement {
  const a = value as HostAnnouncement;
  return typeof a === 'object' && a !== null && typeof a.hostId === 'string' && isSubjectToken(a.hostId) && typeof a.pools === 'object' && a.pools !== null && typeof a.defaultPool === 'string';
}
