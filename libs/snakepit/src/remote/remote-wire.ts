import type { AffinityMode } from '../options/snakepit-options.interface';
import type { PoolLoad } from '../pool/pool.types';
import type { WireError } from './error-wire';

/** The version of the messages below; a host refuses others. */
export const REMOTE_PROTOCOL = 1;

/** How busy each pool of a host is, as every answer of the host reports it. */
export type HostLoad = Record<string, PoolLoad>;

/** A host's answer to the roll call. */
export interface HostAnnouncement {
  hostId: string;
  startedAt: number;
  defaultPool: string;
  pools: HostLoad;
}

/** A call or a stream, as a caller sends it to one host. Values are standalone JSON text (the
 *  value model, binary data as base64). */
export interface RemoteCallRequest {
  v: number;
  /** Made by the caller, unguessable: names the call for credits and cancels. */
  callId: string;
  pool?: string;
  tool: string;
  args: string;
  /** What is left of the caller's time limit. */
  timeoutMs: number;
  idempotent?: boolean;
  /** The caller's per-call choice (ExecuteOptions.validateArguments); unset: the host pool's. */
  validateArguments?: boolean;
  sessionId?: string;
  affinity?: AffinityMode;
  /** Set for a stream: how many chunks the host may send before it waits for credit. */
  window?: number;
  /** W3C trace context, when the transport has no headers for it. */
  traceparent?: string;
  tracestate?: string;
}

export type SessionOperation = 'create' | 'get' | 'delete' | 'locate' | 'adopt' | 'getState' | 'setState' | 'deleteState';

export interface RemoteSessionRequest {
  v: number;
  op: SessionOperation;
  sessionId?: string;
  pool?: string;
  ttlMs?: number;
  metadata?: Record<string, unknown>;
  /** adopt: the host the caller found gone. */
  from?: string;
  /** The state operations: the key, and (setState) the value as standalone JSON text. */
  key?: string;
  value?: string;
}

export interface CreditMessage {
  callId: string;
  chunks: number;
}

export interface CancelMessage {
  callId: string;
  /** A stream's reader stopped reading (break, return()): the host ends the stream as its
   *  consumer would (counted `cancelled`), not as an abort (an error). */
  stopped?: boolean;
}

/** What a host sends back for a call, in order: `alive` while it runs, then one `result`, or
 *  chunks and an `end`, or an `error`. `refused` means it never ran. */
export type RemoteFrame =
  | { kind: 'alive' }
  | { kind: 'refused'; hostId: string; load: HostLoad; why: 'busy' | 'closing' }
  | { kind: 'result'; hostId: string; value: string; load: HostLoad }
  | { kind: 'chunk'; index: number; data: string; final: boolean }
  | { kind: 'end'; hostId: string; load: HostLoad; /** How many chunks the host sent. */ chunks?: number }
  | { kind: 'answer'; hostId: string; body: unknown }
  | { kind: 'error'; hostId: string; error: WireError; load?: HostLoad };

const KINDS = new Set(['alive', 'refused', 'result', 'chunk', 'end', 'answer', 'error']);

/** Whether `value` is a frame (by its kind; the fields are checked where they are read). */
export function isRemoteFrame(value: unknown): value is RemoteFrame {
  return typeof value === 'object' && value !== null && KINDS.has((value as { kind?: unknown }).kind as string);
}
