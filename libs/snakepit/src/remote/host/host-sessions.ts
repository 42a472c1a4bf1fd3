import { Inject, Injectable } from '@nestjs/common';
import { InvalidCallError } from '../../errors';
import { SessionService } from '../../session/session.service';
import { EventBus } from '../../telemetry/event-bus';
import { SnakepitEvent } from '../../telemetry/events';
import { sessionRequestProblems } from '../request-checks';
import type { RemoteFrame, RemoteSessionRequest } from '../remote-wire';
import type { ResolvedHostOptions } from '../remote-options';
import { errorFrame, valueText } from './frames';
import { fromStandaloneJson } from '../../data/standalone-value';
import { SNAKEPIT_HOST_OPTIONS } from './host-options.token';

/** The state key where a session's owning host is kept (in the shared session store). */
export const OWNER_KEY = 'snakepit.host';

/** A state key a caller may write: any but the owner's. */
function ownKey(key: string): string {
  if (key === OWNER_KEY) throw new InvalidCallError([`the state key "${OWNER_KEY}" is the library's (the session's owning host)`]);
  return key;
}

function valueOf(text: string): unknown {
  try {
    return fromStandaloneJson(text);
  } catch (error) {
    throw new InvalidCallError([`value is not standalone JSON: ${(error as Error).message}`]);
  }
}

/**
 * Sessions through the broker. A session belongs to the host that created it (its Python
 * objects live in that host's workers); the owner's id is kept in the session's state, in the
 * shared store, where any host can read it (`locate`). When the owner is lost, the caller asks
 * another host to `adopt` the session: it becomes the owner, the state is intact, and
 * `snakepit.session.rehomed` says that the Python objects are gone.
 */
@Injectable()
export class HostSessions {
  constructor(
    @Inject(SNAKEPIT_HOST_OPTIONS) private readonly options: ResolvedHostOptions,
    private readonly sessions: SessionService,
    private readonly events: EventBus,
  ) {}

  async handle(request: unknown): Promise<RemoteFrame> {
    const hostId = this.options.hostId;
    try {
      const problems = sessionRequestProblems(request);
      if (problems.length) throw new InvalidCallError(problems);
      return { kind: 'answer', hostId, body: await this.operate(request as RemoteSessionRequest) };
    } catch (error) {
      return errorFrame(hostId, error);
    }
  }

  private async operate(request: RemoteSessionRequest): Promise<unknown> {
    const hostId = this.options.hostId;
    const id = request.sessionId!;
    switch (request.op) {
      case 'create': {
        const info = await this.sessions.create(request.sessionId, { ttlMs: request.ttlMs, metadata: request.metadata });
        try {
          await this.sessions.setState(info.id, OWNER_KEY, hostId);
        } catch (error) {
          await this.sessions.delete(info.id).catch(() => undefined);
          throw error;
        }
        return { info, owner: hostId };
      }
      case 'get':
        return { info: await this.sessions.get(id) };
      case 'delete':
        return { deleted: await this.sessions.delete(id) };
      case 'locate': {
        await this.sessions.get(id); // SessionNotFoundError for a session that is not there
        return { owner: await this.sessions.getState<string>(id, OWNER_KEY) };
      }
      case 'adopt': {
        await this.sessions.get(id);
        const owner = await this.sessions.getState<string>(id, OWNER_KEY);
        if (owner !== undefined && owner !== request.from) return { owner }; // another host took it first
        await this.sessions.setState(id, OWNER_KEY, hostId);
        this.events.emit(SnakepitEvent.SessionRehomed, { sessionId: id, from: request.from!, to: hostId });
        return { owner: hostId };
      }
      case 'getState': {
        const value = await this.sessions.getState(id, request.key!);
        return value === undefined ? { found: false } : { found: true, value: valueText(value, `state ${request.key}`, 'value', this.options.maxPayloadBytes) };
      }
      case 'setState':
        await this.sessions.setState(id, ownKey(request.key!), valueOf(request.value!));
        return {};
      case 'deleteState':
        await this.sessions.deleteState(id, ownKey(request.key!));
        return {};
    }
  }
}
