import { Inject, Injectable } from '@nestjs/common';
import { InvalidCallError } from '../../errors';
import { SessionService } from '../../session/session.service';
import { EventBus } from '../../telemetry/event-bus';
import { SnakepitEvent } from '../../telemetry/events';
import { sessionRequestProblems } from '../request-checks';
import type { RemoteFrame, RemoteSessionRequest } from '../remote-wire';
import type { ResolvedHostOptions } from '../remote-options';
import { errorFrame } from './frames';
import { SNAKEPIT_HOST_OPTIONS } from './host-options.token';

/** The state key where a session's owning host is kept (in the shared session store). */
export const OWNER_KEY = 'snakepit.host';

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
    }
  }
}
