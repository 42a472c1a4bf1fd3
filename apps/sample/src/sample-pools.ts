import { Injectable } from '@nestjs/common';
import { PoolService, SessionService, type ExecuteOptions, type SessionInfo, type StreamChunk } from '@snakepit/nestjs';

/** What the sample's routes need of pools: LocalPools (this app's workers, PoolService and
 *  SessionService), or RemotePoolService itself (other apps' workers, through the broker), which
 *  has these methods as they are. */
export abstract class SamplePools {
  abstract execute(tool: string, args: Record<string, unknown>, options: ExecuteOptions): Promise<unknown>;
  abstract executeInSession(sessionId: string, tool: string, args: Record<string, unknown>, options: ExecuteOptions): Promise<unknown>;
  abstract executeStream(tool: string, args: Record<string, unknown>): AsyncIterableIterator<StreamChunk>;
  abstract createSession(body: { id?: string; ttlMs?: number; metadata?: Record<string, unknown> }): Promise<SessionInfo>;
  abstract getSession(id: string): Promise<SessionInfo>;
  abstract deleteSession(id: string): Promise<boolean>;
}

@Injectable()
export class LocalPools extends SamplePools {
  constructor(
    private readonly pool: PoolService,
    private readonly sessions: SessionService,
  ) {
    super();
  }
  execute(tool: string, args: Record<string, unknown>, options: ExecuteOptions) {
    return this.pool.execute(tool, args, options);
  }
  executeInSession(sessionId: string, tool: string, args: Record<string, unknown>, options: ExecuteOptions) {
    return this.pool.executeInSession(sessionId, tool, args, options);
  }
  executeStream(tool: string, args: Record<string, unknown>) {
    return this.pool.executeStream(tool, args);
  }
  createSession(body: { id?: string; ttlMs?: number; metadata?: Record<string, unknown> }) {
    return this.sessions.create(body.id, { ttlMs: body.ttlMs, metadata: body.metadata });
  }
  getSession(id: string) {
    return this.sessions.get(id);
  }
  deleteSession(id: string) {
    return this.sessions.delete(id);
  }
}
