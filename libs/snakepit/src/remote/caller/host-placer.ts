import { NoHostAvailableError, PoolClosedError, PoolSaturatedError, RequestAbortedError } from '../../errors';
import type { ResolvedRemoteOptions } from '../remote-options';
import type { HostDirectory } from './host-directory';

/** While calls wait, the first one asks the least busy host this often: what the caller knows
 *  of other callers' load may be old, and the host's answer says how busy it really is. */
const PROBE_MS = 50;

interface Waiter {
  pool: string | undefined;
  exclude: ReadonlySet<string>;
  resolve(hostId: string): void;
  reject(error: Error): void;
  cleanup(): void;
}

/**
 * Places calls on hosts with free capacity. A call takes the host with the most free capacity
 * at once; when no host has any, it waits here, in order (at most maxQueued), until a host has
 * room (a call ends, a host answers with its load, a roll call finds one) or its queue deadline
 * passes (NoHostAvailableError). A host counts this caller's call from the moment it is placed.
 */
export class HostPlacer {
  private readonly waiting: Waiter[] = [];
  private probe?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly directory: HostDirectory,
    private readonly options: ResolvedRemoteOptions,
  ) {
    directory.onChange(() => this.serve());
  }

  /** A host for a call to `pool` (undefined: each host's default pool), not one in `exclude`.
   *  A call a host refused (`again`) waits at the head of the line, where it was. */
  place(pool: string | undefined, exclude: ReadonlySet<string>, queueDeadline: number, signal: AbortSignal | undefined, tool: string, again = false): Promise<string> {
    if (this.closed) return Promise.reject(new PoolClosedError(pool ?? 'default', 'the app is shutting down'));
    // An abort event never comes for a signal aborted already.
    if (signal?.aborted) return Promise.reject(new RequestAbortedError(tool, signal.reason));
    const now = this.directory.pick(pool, exclude);
    if (now !== undefined && this.waiting.length === 0) {
      this.directory.begin(now, pool);
      return Promise.resolve(now);
    }
    if (this.waiting.length >= this.options.maxQueued) return Promise.reject(new PoolSaturatedError(pool ?? 'default', this.options.maxQueued));
    if (!this.directory.serves(pool)) void this.directory.rollCall();
    const waitedFrom = Date.now();
    return new Promise<string>((resolve, reject) => {
      const onAbort = () => settle(() => reject(new RequestAbortedError(tool, signal?.reason)));
      const timer = setTimeout(() => settle(() => reject(new NoHostAvailableError(pool ?? 'default', Date.now() - waitedFrom, this.reason(pool)))), Math.max(0, queueDeadline - Date.now()));
      const waiter: Waiter = {
        pool,
        exclude,
        resolve: (hostId) => settle(() => resolve(hostId)),
        reject: (error) => settle(() => reject(error)),
        cleanup: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      const settle = (action: () => void) => {
        const at = this.waiting.indexOf(waiter);
        if (at < 0) return;
        this.waiting.splice(at, 1);
        waiter.cleanup();
        action();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (again) this.waiting.unshift(waiter);
      else this.waiting.push(waiter);
      this.startProbing();
      this.serve();
    });
  }

  /** Why no host took a call now. */
  private reason(pool: string | undefined): NoHostAvailableError['reason'] {
    if (!this.directory.brokerReachable) return 'broker_down';
    return this.directory.serves(pool) ? 'all_busy' : 'no_hosts';
  }

  /** Gives hosts with room to the calls waiting, first come first served. */
  private serve(): void {
    const full = new Set<string>();
    for (const waiter of [...this.waiting]) {
      const key = waiter.pool ?? '';
      if (full.has(key)) continue;
      const hostId = this.directory.pick(waiter.pool, waiter.exclude);
      if (hostId === undefined) {
        if (waiter.exclude.size === 0) full.add(key);
        continue;
      }
      this.directory.begin(hostId, waiter.pool);
      waiter.resolve(hostId);
    }
  }

  private startProbing(): void {
    if (this.probe) return;
    this.probe = setInterval(() => {
      const head = this.waiting[0];
      if (!head) {
        clearInterval(this.probe);
        this.probe = undefined;
        return;
      }
      const hostId = this.directory.pick(head.pool, head.exclude, true);
      if (hostId === undefined) return;
      this.directory.begin(hostId, head.pool);
      head.resolve(hostId);
    }, PROBE_MS);
    this.probe.unref();
  }

  /** The app is shutting down: the calls waiting fail with PoolClosedError, and so do new ones. */
  close(): void {
    this.closed = true;
    clearInterval(this.probe);
    for (const waiter of [...this.waiting]) waiter.reject(new PoolClosedError(waiter.pool ?? 'default', 'the app is shutting down'));
  }

  /** Calls waiting for a host now. */
  get queued(): number {
    return this.waiting.length;
  }
}
