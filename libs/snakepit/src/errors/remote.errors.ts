import { SnakepitError } from './snakepit.error';

/** No host serving the pool could take the call before its queue timeout: none answered on
 *  the broker, the broker connection was down, or every host was busy. */
export class NoHostAvailableError extends SnakepitError {
  readonly code = 'no_host_available';
  constructor(
    readonly pool: string,
    readonly waitedMs: number,
    readonly reason: 'no_hosts' | 'all_busy' | 'broker_down',
  ) {
    const why = {
      no_hosts: 'no host serving it answered on the broker',
      all_busy: 'every host serving it was busy',
      broker_down: 'the connection to the broker was down',
    }[reason];
    const hint = {
      no_hosts: 'Start a host (an app that imports SnakepitHostModule and connects the microservice transport), and check that both use the same broker and subjectPrefix.',
      all_busy: 'Add hosts or workers, or raise queueTimeoutMs.',
      broker_down: 'Check the broker; the client reconnects by itself.',
    }[reason];
    super(`No host could take a call to pool "${pool}" within ${waitedMs} ms: ${why}. ${hint}`);
  }
}

/** The host running a call stopped answering (it died, or the broker lost it) before the call
 *  ended: the call may or may not have run. Idempotent calls go to another host instead. */
export class HostLostError extends SnakepitError {
  readonly code = 'host_lost';
  constructor(
    readonly hostId: string,
    readonly tool: string,
    detail: string,
  ) {
    super(`The host "${hostId}" was lost during a call to "${tool}": ${detail}. The call may have run; mark it idempotent ({ idempotent: true }) to have it retried on another host.`);
  }
}

/** A host answered with something that is not the remote protocol (another version of the
 *  library, or not a Snakepit host at all). */
export class RemoteProtocolError extends SnakepitError {
  readonly code = 'remote_protocol_error';
  constructor(readonly hostId: string, detail: string) {
    super(`The host "${hostId}" answered outside the remote protocol: ${detail}. Run the same @snakepit/nestjs version on hosts and callers.`);
  }
}

/** An error a host sent with a code this version does not know (a newer host): its code and
 *  message are kept. */
export class RemoteError extends SnakepitError {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
