import { SessionQuotaError, SessionStoreFullError, SessionStoreUnavailableError } from '../errors';
import * as scripts from './redis-session.scripts';
import type { AccessTime, SessionLimits, SessionLookup, SessionRecord, SessionStore, StateValue } from './session-store';

/** What RedisSessionStore needs of a Redis client: EVAL. An ioredis `Redis` is one. */
export interface RedisEvalClient {
  eval(script: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>;
}

export interface RedisSessionStoreOptions {
  /** Put before every key, so that several applications (or tests) can share one Redis. Default "snakepit:". */
  keyPrefix?: string;
  /** What all sessions may hold together, metadata, keys and values (SessionStoreFullError beyond). Default 256 MiB. */
  maxTotalBytes?: number;
  /** An operation that Redis has not answered by then fails with SessionStoreUnavailableError. Default 2000 ms. */
  operationTimeoutMs?: number;
}

type Reply = Array<string | number | null>;

/** Sessions a LIST or SWEEP script looks at in one call. */
const PAGE = 500;

const byteLength = (text: string) => Buffer.byteLength(text, 'utf8');

/**
 * A SessionStore in Redis, shared by every application that uses the same Redis and prefix:
 * the same rules as the in-memory store (TTL, expiry on use and by the sweep, pinned sessions,
 * limits checked in the same step as the write), each operation one Lua script, so one round
 * trip and atomic. Give it your client (`new Redis(url)` from ioredis); a Redis that is down or
 * slow fails operations with SessionStoreUnavailableError.
 */
export class RedisSessionStore implements SessionStore {
  private readonly prefix: string;
  private readonly maxTotalBytes: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly redis: RedisEvalClient,
    options: RedisSessionStoreOptions = {},
  ) {
    this.prefix = options.keyPrefix ?? 'snakepit:';
    if (this.prefix === '') throw new TypeError('RedisSessionStore: keyPrefix must not be empty (it keeps its keys apart from everything else in Redis)');
    this.maxTotalBytes = options.maxTotalBytes ?? 256 * 1024 * 1024;
    this.timeoutMs = options.operationTimeoutMs ?? 2000;
  }

  async create(record: SessionRecord): Promise<boolean> {
    const metadata = JSON.stringify(record.metadata);
    const created = await this.run(scripts.CREATE, record.id, [record.createdAt, record.lastAccessedAt, record.ttlMs, metadata, byteLength(metadata), this.maxTotalBytes]);
    if (created === -1) throw new SessionStoreFullError(this.maxTotalBytes);
    return created === 1;
  }

  get(id: string, at: AccessTime): Promise<SessionLookup> {
    return this.use(id, at, false);
  }

  touch(id: string, at: AccessTime): Promise<SessionLookup> {
    return this.use(id, at, true);
  }

  async delete(id: string): Promise<boolean> {
    return (await this.run(scripts.DELETE, id, [])) === 1;
  }

  /** Every session, a page of LIST_PAGE at a time (no call holds Redis for long). */
  async list(): Promise<SessionRecord[]> {
    const out: SessionRecord[] = [];
    let cursor = '0';
    do {
      const page = (await this.evaluate(scripts.LIST_PAGE, [this.key('ids')], [this.prefix, cursor, PAGE])) as Reply;
      cursor = String(page[0]);
      out.push(...records(page.slice(1)));
    } while (cursor !== '0');
    return out;
  }

  async size(): Promise<number> {
    return Number(await this.evaluate(scripts.SIZE, [this.key('ids')], []));
  }

  async getState(id: string, key: string, at: AccessTime): Promise<SessionLookup<StateValue>> {
    const reply = (await this.run(scripts.GET_STATE, id, [at.now, flag(at.pinned), key])) as Reply;
    const lookup = lookupOf(id, reply);
    if (lookup.status !== 'live') return lookup;
    const json = reply[5];
    return { ...lookup, value: typeof json === 'string' ? { found: true, json } : { found: false } };
  }

  async setState(id: string, key: string, json: string, at: AccessTime, limits: SessionLimits): Promise<SessionLookup> {
    const reply = (await this.run(scripts.SET_STATE, id, [at.now, flag(at.pinned), key, json, limits.maxKeys, limits.maxSessionBytes, this.maxTotalBytes])) as Reply;
    if (reply[0] === 'quota' && reply[1] === 'maxKeys') throw new SessionQuotaError(id, 'maxKeys', `it has ${reply[2]} state keys, the most it may hold`);
    if (reply[0] === 'quota') throw new SessionQuotaError(id, 'maxSessionBytes', `storing "${key}" would make it hold ${reply[2]} bytes, over ${limits.maxSessionBytes}`);
    if (reply[0] === 'full') throw new SessionStoreFullError(this.maxTotalBytes);
    return lookupOf(id, reply);
  }

  async deleteState(id: string, key: string, at: AccessTime): Promise<SessionLookup> {
    return lookupOf(id, (await this.run(scripts.DELETE_STATE, id, [at.now, flag(at.pinned), key])) as Reply);
  }

  /** The sessions due by `now`, a batch at a time, by the sorted set of when each falls due:
   *  a sweep looks only at those, and never holds Redis for long. */
  async sweep(now: number, pinned: ReadonlySet<string>): Promise<SessionRecord[]> {
    const out: SessionRecord[] = [];
    for (;;) {
      const batch = (await this.evaluate(scripts.SWEEP_BATCH, [this.key('ids'), this.key('bytes'), this.key('due')], [this.prefix, now, PAGE, ...pinned])) as Reply;
      out.push(...records(batch.slice(1)));
      if (Number(batch[0]) < PAGE) return out;
    }
  }

  private async use(id: string, at: AccessTime, touch: boolean): Promise<SessionLookup> {
    return lookupOf(id, (await this.run(scripts.USE, id, [at.now, flag(at.pinned), flag(touch)])) as Reply);
  }

  private key(name: string): string {
    return `${this.prefix}${name}`;
  }

  /** A script on one session: its keys, then its id and `args`. */
  private run(script: string, id: string, args: Array<string | number>): Promise<unknown> {
    const keys = [this.key(`s:${id}`), this.key(`v:${id}`), this.key('ids'), this.key('bytes'), this.key('due')];
    return this.evaluate(script, keys, [id, ...args]);
  }

  /** One EVAL, as a typed error when Redis fails or does not answer in time. A timed-out
   *  operation may still happen in Redis: its outcome is unknown, not "nothing". */
  private evaluate(script: string, keys: string[], args: Array<string | number>): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SessionStoreUnavailableError('Redis', `no answer within ${this.timeoutMs} ms (the operation may still take place)`)), this.timeoutMs);
      timer.unref();
    });
    const call = Promise.resolve()
      .then(() => this.redis.eval(script, keys.length, ...keys, ...args))
      .catch((error: Error) => {
        throw new SessionStoreUnavailableError('Redis', error.message, { cause: error });
      });
    return Promise.race([call, timeout]).finally(() => clearTimeout(timer));
  }
}

function flag(value: boolean): string {
  return value ? '1' : '0';
}

function recordOf(id: string, fields: Reply, from: number): SessionRecord {
  return {
    id,
    createdAt: Number(fields[from]),
    lastAccessedAt: Number(fields[from + 1]),
    ttlMs: Number(fields[from + 2]),
    metadata: metadataOf(id, fields[from + 3]),
  };
}

function lookupOf(id: string, reply: Reply): SessionLookup {
  if (reply[0] === 'missing') return { status: 'missing' };
  const record = recordOf(id, reply, 1);
  return reply[0] === 'expired' ? { status: 'expired', record } : { status: 'live', record, value: undefined };
}

/** LIST's and SWEEP's answer: five fields a session. */
function records(flat: Reply): SessionRecord[] {
  const out: SessionRecord[] = [];
  for (let i = 0; i + 4 < flat.length; i += 5) out.push(recordOf(String(flat[i]), flat, i + 1));
  return out;
}

function metadataOf(id: string, text: string | number | null): Record<string, unknown> {
  try {
    return JSON.parse(String(text)) as Record<string, unknown>;
  } catch (error) {
    throw new SessionStoreUnavailableError('Redis', `session ${id} holds unreadable metadata`, { cause: error });
  }
}
