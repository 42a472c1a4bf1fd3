import { Injectable } from '@nestjs/common';
import { PoolService, SessionService, type ExecuteOptions, type SessionInfo, type StreamChunk } from '@snakepit/nestjs';
import type { RemotePoolService } from '@snakepit/nestjs/remote';

/** What the sample's routes need of pools, local (this app's workers) or remote (other apps'
 *  workers, through the broker). */
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

export class RemotePools extends SamplePools {
  constructor(private readonly remote: RemotePoolService) {
    super();
  }
  execute(tool: string, args: Record<string, unknown>, options: ExecuteOptions) {
    return this.remote.execute(tool, args, options);
  }
  executeInSession(sessionId: string, tool: string, args: Record<string, unknown>, options: ExecuteOptions) {
    return this.remote.executeInSession(sessionId, tool, args, options);
  }
  executeStream(tool: string, args: Record<string, unknown>) {
    return this.remote.executeStream(tool, args);
  }
  createSession(body: { id?: string; ttlMs?: number; metadata?: Record<string, unknown> }) {
    return this.remote.createSession(body);
  }
  getSession(id: string) {
    return this.remote.getSession(id);
  }
  deleteSession(id: string) {
    return this.remote.deleteSession(id);
  }
}
