import { HostLostError, NoHostAvailableError, RemoteProtocolError, RequestAbortedError, RequestTimeoutError, SerializationError } from '../../errors';
import { fromStandaloneJson, standaloneJson } from '../../data/standalone-value';
import { ValueEncodingError } from '../../data/value-encoder';
import type { SessionInfo } from '../../session/session.service';
import { errorFromWire, isWireError } from '../error-wire';
import { isSubjectToken, type RemoteSubjects } from '../remote-subjects';
import { REMOTE_PROTOCOL, type RemoteSessionRequest } from '../remote-wire';
import type { ResolvedRemoteOptions } from '../remote-options';
import type { HostDirectory } from './host-directory';
import { attempt } from './remote-attempt';
import type { RemoteClient } from './remote-client';

/** The limits of a session operation made for a call: it waits for a host or the broker until
 *  `queueDeadline`, and for an answer until `deadline` (the call's own). */
export interface SessionBounds {
  queueDeadline: number;
  deadline: number;
}

/** A session as a remote caller sees it: with the host that owns it. */
export type RemoteSessionInfo = SessionInfo & { hostId: string };

/** Owners remembered at most; an older one is looked up again when needed. */
const MAX_REMEMBERED = 10_000;
/** How long an operation waits between tries when no host is known yet. */
const RETRY_MS = 50;

/**
 * Sessions of remote pools: created on a host (its owner, where the session's Python objects
 * live), looked up and removed through any host (the store is shared). The owner of each
 * session is read from the store (`locate`) and remembered; when it is lost, another host
 * adopts the session.
 */
export class RemoteSessions {
  private readonly owners = new Map<string, string>();

  constructor(
    private readonly client: RemoteClient,
    private readonly subjects: RemoteSubjects,
    private readonly directory: HostDirectory,
    private readonly options: ResolvedRemoteOptions,
  ) {}

  async create(options: { id?: string; ttlMs?: number; metadata?: Record<string, unknown>; pool?: string; signal?: AbortSignal }): Promise<RemoteSessionInfo> {
    const body = (await this.onSomeHost(options.pool, { op: 'create', sessionId: options.id, ttlMs: options.ttlMs, metadata: options.metadata, pool: options.pool }, options.signal)) as {
      info: SessionInfo;
      owner: string;
    };
    this.remember(body.info.id, body.owner);
    return { ...body.info, hostId: body.owner };
  }

  async get(id: string, signal?: AbortSignal): Promise<SessionInfo> {
    return ((await this.onSomeHost(undefined, { op: 'get', sessionId: id }, signal)) as { info: SessionInfo }).info;
  }

  async delete(id: string, signal?: AbortSignal): Promise<boolean> {
    const deleted = ((await this.onSomeHost(undefined, { op: 'delete', sessionId: id }, signal)) as { deleted: boolean }).deleted;
    this.owners.delete(id);
    return deleted;
  }

  /** A state value of the session (undefined when the key is not set), read through any host. */
  async getState<T>(id: string, key: string, signal?: AbortSignal): Promise<T | undefined> {
    const body = (await this.onSomeHost(undefined, { op: 'getState', sessionId: id, key }, signal)) as { found?: boolean; value?: unknown };
    if (!body.found) return undefined;
    if (typeof body.value !== 'string') throw new RemoteProtocolError('(getState)', 'a state value that is not standalone JSON text');
    return fromStandaloneJson(body.value) as T;
  }

  async setState(id: string, key: string, value: unknown, signal?: AbortSignal): Promise<void> {
    let text: string;
    try {
      text = standaloneJson(value, 'value');
    } catch (error) {
      if (error instanceof ValueEncodingError) throw new SerializationError('arguments', `state ${key}`, error.message, error.path);
      throw error;
    }
    await this.onSomeHost(undefined, { op: 'setState', sessionId: id, key, value: text }, signal);
  }

  async deleteState(id: string, key: string, signal?: AbortSignal): Promise<void> {
    await this.onSomeHost(undefined, { op: 'deleteState', sessionId: id, key }, signal);
  }

  /** The host that owns the session: remembered, or read from the store; a session whose owner
   *  is gone (or that has none) is adopted by another host first. */
  async owner(id: string, pool: string | undefined, signal?: AbortSignal, bounds?: SessionBounds): Promise<string> {
    const known = this.owners.get(id);
    if (known !== undefined && this.directory.has(known)) return known;
    const { owner } = (await this.onSomeHost(pool, { op: 'locate', sessionId: id }, signal, undefined, bounds)) as { owner?: unknown };
    // An owner this caller has not seen yet may be alive all the same (a roll call still under
    // way): it is asked before another host takes its session.
    if (typeof owner === 'string' && isSubjectToken(owner) && (this.directory.has(owner) || (await this.probe(owner, bounds)))) {
      this.remember(id, owner);
      return owner;
    }
    return this.rehome(id, typeof owner === 'string' ? owner : '(none)', pool, signal, bounds);
  }

  /** Another host takes over the session from `lost`; resolves with the new owner. */
  async rehome(id: string, lost: string, pool: string | undefined, signal?: AbortSignal, bounds?: SessionBounds): Promise<string> {
    this.owners.delete(id);
    const { owner } = (await this.onSomeHost(pool, { op: 'adopt', sessionId: id, from: lost }, signal, lost, bounds)) as { owner?: unknown };
    if (typeof owner !== 'string' || !isSubjectToken(owner)) throw new RemoteProtocolError('(adopt)', 'the new owner of a session is not a host id');
    this.remember(id, owner);
    return owner;
  }

  /** Whether `hostId` answers a probe; true when `bounds.deadline` passes first (the call then
   *  ends with its timeout: who is there could not be told in time). */
  private async probe(hostId: string, bounds: SessionBounds | undefined): Promise<boolean> {
    if (!bounds) return this.directory.probe(hostId);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), Math.max(0, bounds.deadline - Date.now()))));
    try {
      return await Promise.race([this.directory.probe(hostId), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  forget(id: string): void {
    this.owners.delete(id);
  }

  private remember(id: string, owner: string): void {
    this.owners.delete(id);
    this.owners.set(id, owner);
    if (this.owners.size > MAX_REMEMBERED) this.owners.delete(this.owners.keys().next().value!);
  }

  /** Runs a session operation on some host serving `pool` (the least busy), trying others while
   *  hosts are unreachable, within the queue timeout (and the call's `bounds`). */
  private async onSomeHost(pool: string | undefined, operation: Omit<RemoteSessionRequest, 'v'>, signal: AbortSignal | undefined, avoid?: string, bounds?: SessionBounds): Promise<unknown> {
    const started = Date.now();
    const deadline = Math.min(started + Math.min(this.options.queueTimeoutMs, this.options.timeoutMs), bounds?.queueDeadline ?? Infinity);
    const answerBy = Math.min(started + this.options.timeoutMs, bounds?.deadline ?? Infinity);
    const exclude = new Set<string>(avoid ? [avoid] : []);
    for (;;) {
      if (signal?.aborted) throw new RequestAbortedError(`session ${operation.op}`, signal.reason);
      const hostId = this.directory.pick(pool, exclude, true);
      if (hostId === undefined) {
        if (Date.now() >= deadline) throw new NoHostAvailableError(pool ?? 'default', Date.now() - started, this.directory.brokerReachable ? 'no_hosts' : 'broker_down');
        await Promise.race([this.directory.rollCall(), new Promise((resolve) => setTimeout(resolve, RETRY_MS))]);
        continue;
      }
      const end = await attempt({
        client: this.client,
        directory: this.directory,
        hostId,
        subject: this.subjects.host(hostId).session,
        request: { v: REMOTE_PROTOCOL, ...operation },
        hostLostAfterMs: this.options.hostLostAfterMs,
        deadline: answerBy,
        signal,
      });
      switch (end.kind) {
        case 'frame':
          if (end.frame.kind === 'answer') return end.frame.body ?? {};
          if (end.frame.kind === 'error' && isWireError(end.frame.error)) throw errorFromWire(end.frame.error, hostId);
          throw new RemoteProtocolError(hostId, `a "${end.frame.kind}" frame for a session operation`);
        case 'unreachable':
          if (!(await this.directory.nobodyListens(hostId, 'nobody listens on its subjects'))) {
            // The broker is just back and the host not yet subscribed again: ask again soon.
            if (Date.now() >= deadline) throw new NoHostAvailableError(pool ?? 'default', Date.now() - started, 'no_hosts');
            await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
          }
          continue;
        case 'broker-down':
          if (Date.now() >= deadline) throw new NoHostAvailableError(pool ?? 'default', Date.now() - started, 'broker_down');
          await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
          continue;
        case 'lost':
          throw new HostLostError(hostId, `session ${operation.op}`, end.why);
        case 'timeout':
          throw new RequestTimeoutError(`session ${operation.op}`, answerBy - started);
        case 'aborted':
          throw new RequestAbortedError(`session ${operation.op}`, end.reason);
        case 'malformed':
          throw new RemoteProtocolError(hostId, end.detail);
      }
    }
  }
}
