import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { SnakepitConfigError } from '../errors';
import { MAX_TIMER_MS } from '../options/options.schema';
import { isSubjectToken, subjectPrefixProblem } from './remote-subjects';

/** Options of SnakepitHostModule.forRoot(): how this app serves its pools on the broker. */
export interface SnakepitHostOptions {
  /** Starts every subject; hosts and callers of one deployment share it. Default "snakepit". */
  subjectPrefix?: string;
  /** This host's name on the broker (letters, digits, `_`, `-`). Default: the machine's name,
   *  the process id and a random part, new at every start. */
  hostId?: string;
  /** How often a running call tells its caller the host is alive. Default 1000 ms. */
  heartbeatMs?: number;
  /** The most chunks a caller may let a stream send ahead of its reader. Default 256. */
  maxStreamWindow?: number;
  /** Calls per ready worker a host takes beyond what its workers run at once (at least the
   *  pool's prefetchPerWorker): they wait in the pool's queue, so that a worker that finishes
   *  starts its next call at once instead of after a broker round trip. Default 1. */
  acceptAheadPerWorker?: number;
  /** A stream whose caller gives it no credit for this long is stopped (StreamConsumerIdleError):
   *  a caller that went away, or stopped reading, holds nothing here for longer. Default 30000 ms. */
  creditTimeoutMs?: number;
  /** The broker's largest message (NATS `max_payload`, 1 MiB unless the server sets more): a
   *  result or chunk larger than this fails with PayloadTooLargeError instead of being lost. */
  maxPayloadBytes?: number;
}

/** Options of SnakepitRemoteModule: how this app calls pools served on the broker. */
export interface RemotePoolOptions {
  subjectPrefix?: string;
  /** Time limit of a call, waiting for a host included. Default 30000 ms. */
  timeoutMs?: number;
  /** How long a call waits for a host with free capacity before NoHostAvailableError. Default 10000 ms. */
  queueTimeoutMs?: number;
  /** Calls that may wait for a host at once; one more fails with PoolSaturatedError. Default 1000. */
  maxQueued?: number;
  /** A call whose host sent nothing for this long counts it lost (keep it above twice the hosts'
   *  heartbeatMs). Default 3000 ms. */
  hostLostAfterMs?: number;
  /** How often the caller asks which hosts there are. Default 1000 ms. */
  rollCallIntervalMs?: number;
  /** How long it gathers the answers of one roll call. Default 250 ms. */
  rollCallWindowMs?: number;
  /** A host missing from this many roll calls in a row is dropped. Default 3. */
  rollCallMisses?: number;
  /** Chunks a stream's host may send ahead of the reader. Default 32. */
  streamWindow?: number;
  /** Idempotent calls retried on another host after theirs was lost. Default 2. */
  maxRetries?: number;
  /** The broker's largest message (NATS `max_payload`, 1 MiB unless the server sets more):
   *  arguments larger than this fail with PayloadTooLargeError before sending. */
  maxPayloadBytes?: number;
}

export type ResolvedHostOptions = Required<SnakepitHostOptions>;
export type ResolvedRemoteOptions = Required<RemotePoolOptions>;

type Checks<T> = { [K in keyof T]-?: (value: unknown) => string | undefined };

const positiveInteger = (name: string, max = Number.MAX_SAFE_INTEGER) => (value: unknown) =>
  Number.isInteger(value) && (value as number) >= 1 && (value as number) <= max ? undefined : `${name} must be an integer from 1 to ${max} (got ${JSON.stringify(value)})`;

function resolve<T extends object>(given: Partial<T> | undefined, defaults: Required<T>, checks: Checks<T>, where: string): Required<T> {
  if (given !== undefined && (typeof given !== 'object' || given === null)) throw new SnakepitConfigError(['the options must be an object'], where);
  const options = { ...defaults } as Required<T>;
  const problems: string[] = [];
  for (const [key, value] of Object.entries(given ?? {})) {
    // Own keys only: `constructor`, `toString` or `hasOwnProperty` are no options either.
    const check = Object.hasOwn(checks, key) ? (checks as Record<string, (value: unknown) => string | undefined>)[key] : undefined;
    if (!check) {
      problems.push(`${key} is not an option (known: ${Object.keys(checks).join(', ')})`);
      continue;
    }
    if (value === undefined) continue;
    const problem = check(value);
    if (problem) problems.push(problem);
    else (options as Record<string, unknown>)[key] = value;
  }
  if (problems.length) throw new SnakepitConfigError(problems, where);
  return options;
}

/** A host id no other process has: the machine's name (as a subject token), pid, random part. */
export function newHostId(): string {
  const machine = hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 32) || 'host';
  return `${machine}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

export function resolveHostOptions(given?: SnakepitHostOptions): ResolvedHostOptions {
  return resolve<SnakepitHostOptions>(
    given,
    { subjectPrefix: 'snakepit', hostId: newHostId(), heartbeatMs: 1000, maxStreamWindow: 256, acceptAheadPerWorker: 1, creditTimeoutMs: 30_000, maxPayloadBytes: 1024 * 1024 },
    {
      subjectPrefix: subjectPrefixProblem,
      hostId: (value) => (typeof value === 'string' && isSubjectToken(value) ? undefined : `hostId must be 1–64 letters, digits, "_" or "-" (got ${JSON.stringify(value)})`),
      heartbeatMs: positiveInteger('heartbeatMs', 3_600_000),
      maxStreamWindow: positiveInteger('maxStreamWindow', 65_536),
      acceptAheadPerWorker: (value) => (Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 1000 ? undefined : `acceptAheadPerWorker must be an integer from 0 to 1000 (got ${JSON.stringify(value)})`),
      creditTimeoutMs: positiveInteger('creditTimeoutMs', MAX_TIMER_MS),
      maxPayloadBytes: positiveInteger('maxPayloadBytes'),
    },
    'SnakepitHostModule.forRoot()',
  );
}

export function resolveRemoteOptions(given?: RemotePoolOptions): ResolvedRemoteOptions {
  const options = resolve<RemotePoolOptions>(
    given,
    {
      subjectPrefix: 'snakepit',
      timeoutMs: 30_000,
      queueTimeoutMs: 10_000,
      maxQueued: 1000,
      hostLostAfterMs: 3000,
      rollCallIntervalMs: 1000,
      rollCallWindowMs: 250,
      rollCallMisses: 3,
      streamWindow: 32,
      maxRetries: 2,
      maxPayloadBytes: 1024 * 1024,
    },
    {
      subjectPrefix: subjectPrefixProblem,
      timeoutMs: positiveInteger('timeoutMs', MAX_TIMER_MS),
      queueTimeoutMs: positiveInteger('queueTimeoutMs', MAX_TIMER_MS),
      maxQueued: positiveInteger('maxQueued'),
      hostLostAfterMs: positiveInteger('hostLostAfterMs', MAX_TIMER_MS),
      rollCallIntervalMs: positiveInteger('rollCallIntervalMs', MAX_TIMER_MS),
      rollCallWindowMs: positiveInteger('rollCallWindowMs', MAX_TIMER_MS),
      rollCallMisses: positiveInteger('rollCallMisses', 1000),
      streamWindow: positiveInteger('streamWindow', 65_536),
      maxPayloadBytes: positiveInteger('maxPayloadBytes'),
      maxRetries: (value) => (Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 100 ? undefined : `maxRetries must be an integer from 0 to 100 (got ${JSON.stringify(value)})`),
    },
    'SnakepitRemoteModule.forRoot()/forRootAsync()',
  );
  if (options.rollCallWindowMs >= options.rollCallIntervalMs) {
    throw new SnakepitConfigError([`rollCallWindowMs (${options.rollCallWindowMs}) must be below rollCallIntervalMs (${options.rollCallIntervalMs})`], 'SnakepitRemoteModule.forRoot()/forRootAsync()');
  }
  return options;
}
