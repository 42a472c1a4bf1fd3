/** The broker subjects (Nest message patterns) of one deployment, all under one prefix. */
export interface RemoteSubjects {
  /** Every host answers it (no queue group): how callers learn which hosts there are. */
  rollCall: string;
  /** One host's own subjects. */
  host(hostId: string): HostSubjects;
}

export interface HostSubjects {
  /** Starts a call or a stream on this host. */
  call: string;
  /** Sessions: create, get, delete, locate, adopt. */
  session: string;
  /** More chunks a stream's reader can take. */
  credit: string;
  /** Stops a call or stream. */
  cancel: string;
  /** The host's full pool and session stats. */
  stats: string;
}

const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

/** Whether `text` is one subject token: letters, digits, `_` and `-` (a host id). */
export function isSubjectToken(text: string): boolean {
  return TOKEN.test(text);
}

/** Why `prefix` cannot start subjects (tokens separated by dots), or undefined when it can. */
export function subjectPrefixProblem(prefix: unknown): string | undefined {
  if (typeof prefix !== 'string' || !prefix.split('.').every(isSubjectToken)) {
    return `subjectPrefix must be dot-separated tokens of letters, digits, "_" and "-" (got ${JSON.stringify(prefix)})`;
  }
  return undefined;
}

export function remoteSubjects(prefix: string): RemoteSubjects {
  return {
    rollCall: `${prefix}.roll-call`,
    host: (hostId) => {
      const base = `${prefix}.host.${hostId}`;
      return { call: `${base}.call`, session: `${base}.session`, credit: `${base}.credit`, cancel: `${base}.cancel`, stats: `${base}.stats` };
    },
  };
}
