import { SnakepitError } from './snakepit.error';

/** No live session has this id: it never existed, was deleted, or expired. */
export class SessionNotFoundError extends SnakepitError {
  readonly code = 'session_not_found';
  constructor(readonly sessionId: string) {
    super(`No session "${sessionId}": it does not exist, was deleted, or expired (sessions.ttlMs). Create it first.`);
  }
}

/** A session with this id exists already. */
export class SessionExistsError extends SnakepitError {
  readonly code = 'session_exists';
  constructor(readonly sessionId: string) {
    super(`A session "${sessionId}" exists already. Use another id, or omit it to get a generated one.`);
  }
}

/** sessions.maxSessions are alive: no room for another. */
export class SessionLimitError extends SnakepitError {
  readonly code = 'session_limit_reached';
  constructor(readonly maxSessions: number) {
    super(
      `Cannot create a session: ${maxSessions} are alive (sessions.maxSessions). ` +
        'Delete finished sessions, shorten sessions.ttlMs, or raise sessions.maxSessions.',
    );
  }
}

/** strictFailFast affinity: the session's worker is busy. */
export class WorkerBusyError extends SnakepitError {
  readonly code = 'worker_busy';
  constructor(readonly sessionId: string, readonly workerId: string) {
    super(
      `Worker ${workerId} of session "${sessionId}" is busy (affinity strictFailFast). ` +
        'Retry later, or use affinity "strictQueue" to wait for it or "hint" to take any worker.',
    );
  }
}

/** strict affinity: the worker the session is pinned to is gone (crashed, recycled, stopped). */
export class SessionWorkerUnavailableError extends SnakepitError {
  readonly code = 'session_worker_unavailable';
  constructor(readonly sessionId: string, readonly workerId: string) {
    super(
      `Worker ${workerId} of session "${sessionId}" is no longer available (strict affinity). ` +
        'Session state lives on the host and is intact: call again with affinity "hint" to move the session to another worker.',
    );
  }
}

/** The session would hold more than a session limit allows; nothing was stored. */
export class SessionQuotaError extends SnakepitError {
  readonly code = 'session_quota_exceeded';
  constructor(readonly sessionId: string | undefined, readonly limit: string, detail: string) {
    super(
      `${sessionId === undefined ? 'A new session' : `Session "${sessionId}"`}: ${detail} (sessions.${limit}). ` +
        `Keep large data elsewhere (a file, a database) and its key in the session, or raise sessions.${limit}.`,
    );
  }
}

/** The session store cannot be reached (a shared store that is down, or too slow to answer). */
export class SessionStoreUnavailableError extends SnakepitError {
  readonly code = 'session_store_unavailable';
  constructor(readonly store: string, detail: string, options?: { cause?: unknown }) {
    super(`The session store (${store}) is unavailable: ${detail}. Sessions work again once it answers; calls outside sessions are not affected.`, options);
  }
}

/** The session store holds its maxTotalBytes already (sessions.maxTotalBytes for the in-memory
 *  one, RedisSessionStore's own option for Redis); nothing was stored. */
export class SessionStoreFullError extends SnakepitError {
  readonly code = 'session_store_full';
  constructor(readonly maxTotalBytes: number) {
    super(
      `The session store is full: its sessions hold ${maxTotalBytes} bytes (sessions.maxTotalBytes, or the maxTotalBytes of your store). ` +
        'Delete finished sessions, shorten sessions.ttlMs, or raise sessions.maxTotalBytes.',
    );
  }
}
