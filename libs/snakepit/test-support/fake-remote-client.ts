import { Observable } from 'rxjs';
import type { PoolLoad } from '../src/pool/pool.types';
import { resolveRemoteOptions, type RemotePoolOptions, type ResolvedRemoteOptions } from '../src/remote/remote-options';
import { remoteSubjects } from '../src/remote/remote-subjects';
import type { HostAnnouncement } from '../src/remote/remote-wire';
import { HostDirectory } from '../src/remote/caller/host-directory';
import type { RemoteClient } from '../src/remote/caller/remote-client';

/** What NATS throws when nobody listens on a subject (isNoResponders goes by the class name). */
export class EmptyResponseException extends Error {}

export const load = (capacity: number, inFlight = 0, ahead = 0, status: PoolLoad['status'] = 'ready'): PoolLoad => ({ capacity, ahead, workers: capacity, inFlight, status });

export const announcement = (hostId: string, pools: Record<string, PoolLoad>, defaultPool = Object.keys(pools)[0] ?? 'default'): HostAnnouncement => ({
  hostId,
  startedAt: 1_700_000_000_000,
  defaultPool,
  pools,
});

/**
 * The broker as HostDirectory uses it: connect(), and request() answering with an Observable.
 * A roll call answers with `hosts` (the hosts up now), synchronously; `rollCallError` makes it
 * fail instead; `connectError` makes connect() reject. A stats request (a probe) answers as
 * `probeAnswer` says.
 */
export class FakeRemoteClient {
  hosts: HostAnnouncement[] = [];
  rollCallError?: unknown;
  connectError?: unknown;
  probeAnswer: (hostId: string) => 'answer' | 'gone' | 'silent' = () => 'answer';
  readonly requests: Array<{ subject: string; body: Record<string, unknown> }> = [];

  async connect(): Promise<void> {
    if (this.connectError !== undefined) throw this.connectError;
  }

  request<T>(subject: string, body: Record<string, unknown>): Observable<T> {
    this.requests.push({ subject, body });
    return new Observable<T>((subscriber) => {
      if (subject.endsWith('.roll-call')) {
        if (this.rollCallError !== undefined) return subscriber.error(this.rollCallError);
        for (const host of this.hosts) subscriber.next(structuredClone(host) as T);
        return; // the answers of a roll call never complete: the window ends it
      }
      const hostId = subject.split('.').at(-2) ?? '';
      const answer = this.probeAnswer(hostId);
      if (answer === 'answer') subscriber.next({ hostId } as T);
      else if (answer === 'gone') subscriber.error(new EmptyResponseException('no responders'));
    });
  }

  rollCalls(): number {
    return this.requests.filter((r) => r.subject.endsWith('.roll-call')).length;
  }

  asClient(): RemoteClient {
    return this as unknown as RemoteClient;
  }
}

export function directoryWith(given: RemotePoolOptions = {}): { client: FakeRemoteClient; directory: HostDirectory; options: ResolvedRemoteOptions } {
  const options = resolveRemoteOptions({ rollCallIntervalMs: 1000, rollCallWindowMs: 100, rollCallMisses: 3, hostLostAfterMs: 500, ...given });
  const client = new FakeRemoteClient();
  return { client, directory: new HostDirectory(client.asClient(), remoteSubjects('snakepit'), options), options };
}

/** One roll call, its window passed on the fake clock. */
export async function rollCall(directory: HostDirectory, options: ResolvedRemoteOptions): Promise<void> {
  const done = directory.rollCall();
  await jest.advanceTimersByTimeAsync(options.rollCallWindowMs);
  await done;
}

/** A promise's state, readable without awaiting it. */
export function track<T>(promise: Promise<T>): { state: 'pending' | 'resolved' | 'rejected'; value?: T; error?: unknown } {
  const tracked: { state: 'pending' | 'resolved' | 'rejected'; value?: T; error?: unknown } = { state: 'pending' };
  promise.then(
    (value) => Object.assign(tracked, { state: 'resolved', value }),
    (error: unknown) => Object.assign(tracked, { state: 'rejected', error }),
  );
  return tracked;
}

/** Lets promise callbacks run (no time passes). */
export const flush = () => jest.advanceTimersByTimeAsync(0);
