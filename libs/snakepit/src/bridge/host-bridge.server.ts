import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InvalidCallError, SerializationError, SnakepitError } from '../errors';
import { ValueEncodingError } from '../data/value-encoder';
import type { ResolvedOptions } from '../options/resolve-options';
import { SessionAccess } from '../session/session-access';
import { SNAKEPIT_CONFIG, type HostAccess, type HostBridge } from '../snakepit.constants';
import { EventBus } from '../telemetry/event-bus';
import { PYTHON_EVENT_PREFIX, SnakepitEvent } from '../telemetry/events';
import { inHostToolSpan } from '../telemetry/tracing';
import { ToolRegistryService } from '../tools/tool-registry.service';
import { DataPlane } from '../data/data-plane';
import { inlineWireValue, standaloneJson, standaloneWireValue } from '../data/standalone-value';
import { SnakepitRun } from '../snakepit-run';
import { hostErrorInfo } from './host-codec';
import { hostServiceDefinition, type WireHostReply } from './wire';

/** Metadata entry that carries the per-boot secret on every call from a worker. */
export const SECRET_METADATA_KEY = 'x-snakepit-secret';

type Handler<Req, Rep> = (request: Req, metadata: grpc.Metadata) => Promise<Rep>;

const REFUSAL_LOG_INTERVAL_MS = 10_000;

/**
 * The gRPC server inside the host that workers call back: host tools and session state.
 * It listens on a private Unix socket (or loopback) and answers only callers that present
 * this boot's secret, which only this app's workers receive (over a pipe, never in their
 * environment). A caller without it is refused on its metadata, before its message is read.
 */
@Injectable()
export class HostBridgeServer implements HostBridge {
  private readonly logger = new Logger('Snakepit:bridge');
  private readonly secret = randomBytes(32);
  private server?: grpc.Server;
  private address?: string;
  private socketDir?: string;
  private starting?: Promise<void>;
  private refusals = { lastLoggedAt: 0, unlogged: 0 };
  private readonly data: DataPlane;

  constructor(
    @Inject(SNAKEPIT_CONFIG) private readonly options: ResolvedOptions,
    private readonly tools: ToolRegistryService,
    private readonly sessions: SessionAccess,
    private readonly events: EventBus,
    run: SnakepitRun,
  ) {
    // Values from workers only: nothing is placed in shared memory for them.
    this.data = new DataPlane(run.sharedMemory, {
      thresholdBytes: Infinity,
      maxValueBytes: Math.max(...options.pools.map((pool) => pool.sharedMemory.maxValueBytes)),
    });
  }

  /** Starts listening (once), then gives what a worker needs to call back. */
  async workerAccess(): Promise<HostAccess> {
    this.starting ??= this.listen();
    await this.starting;
    return { address: this.address!, secret: this.secret.toString('hex'), socketDir: this.socketDir };
  }

  async stop(): Promise<void> {
    // A start still binding must finish first, or its server would outlive the app.
    await this.starting?.catch(() => undefined);
    const server = this.server;
    this.server = undefined;
    if (server) {
      // Let calls in flight finish, but never wait on a client that keeps a call open.
      const forced = setTimeout(() => server.forceShutdown(), this.options.killTimeoutMs);
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      clearTimeout(forced);
    }
    if (this.socketDir) rmSync(this.socketDir, { recursive: true, force: true });
  }

  private async listen(): Promise<void> {
    const server = new grpc.Server({
      interceptors: [(method, call) => this.authenticate(method.path, call)],
      'grpc.max_receive_message_length': this.maxMessageBytes,
      'grpc.max_send_message_length': this.maxMessageBytes,
    });
    server.addService(hostServiceDefinition(), {
      ListTools: this.guard(async () => ({
        tools: this.tools.list().map((tool) => ({
          name: tool.name,
          description: tool.description,
          parametersJson: Buffer.from(JSON.stringify(tool.parameters ?? null)),
        })),
      })),
      CallTool: this.guard((request: any, metadata) => this.callTool(request, metadata)),
      GetState: this.guard((request: any) => this.reply(async () => {
        const state = await this.sessions.getStateJson(request.sessionId, request.key);
        return state.found ? { result: standaloneWireValue(state.json!), found: true } : { found: false };
      })),
      SetState: this.guard((request: any) => this.reply(async () => {
        // The store keeps JSON that stands alone: the value read (its segments removed), then encoded again.
        const value = this.data.incoming(request.value);
        await this.sessions.setStateJson(request.sessionId, request.key, typed(() => standaloneJson(value, `state "${request.key}"`), (e) => new InvalidCallError([`the value of ${e.message}; it cannot be stored`])));
        return {};
      })),
      DeleteState: this.guard((request: any) => this.reply(async () => {
        await this.sessions.deleteState(request.sessionId, request.key);
        return {};
      })),
      Emit: this.guard((request: any) => this.reply(async () => {
        this.events.emit(pythonEvent(request.name), {
          workerId: request.workerId || undefined,
          sessionId: request.sessionId || undefined,
          measurements: jsonObject(request.measurementsJson, 'measurements'),
          metadata: jsonObject(request.metadataJson, 'metadata'),
        });
        return {};
      })),
    });
    const target = this.bindTarget();
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    if (this.socketDir) chmodSync(join(this.socketDir, 'host.sock'), 0o600);
    this.server = server;
    this.address = this.socketDir ? target : `127.0.0.1:${port}`;
  }

  private bindTarget(): string {
    if (this.options.bridge.transport === 'unix') {
      // A private directory (0700) so that no other user can reach the socket even before its chmod.
      this.socketDir = mkdtempSync(join(tmpdir(), 'snakepit-'));
      return `unix:${join(this.socketDir, 'host.sock')}`;
    }
    return '127.0.0.1:0';
  }

  private get maxMessageBytes(): number {
    return Math.max(...this.options.pools.map((pool) => pool.maxMessageBytes), 4 * 1024 * 1024);
  }

  private async callTool(request: any, metadata: grpc.Metadata): Promise<WireHostReply> {
    const started = Date.now();
    const header = (key: string) => metadata.get(key)[0]?.toString();
    const reply = await this.reply(async () => {
      const args = (this.data.incoming(request.args) ?? {}) as Record<string, unknown>;
      const context = { sessionId: request.sessionId || undefined, workerId: request.workerId || undefined };
      const result = await inHostToolSpan(request.name, header('traceparent'), header('tracestate'), () => this.tools.call(request.name, args, context));
      const reply = typed(() => inlineWireValue(result === undefined ? null : result, 'result'), (e) => new SerializationError('result', `host tool ${request.name}`, e.message, e.path));
      return { result: reply };
    });
    this.events.emit(SnakepitEvent.HostToolCalled, {
      tool: request.name,
      sessionId: request.sessionId || undefined,
      workerId: request.workerId || undefined,
      durationMs: Date.now() - started,
      ok: reply.error === undefined,
    });
    return reply;
  }

  /** Runs a handler and turns whatever it throws into HostReply.error. */
  private async reply(work: () => Promise<Omit<WireHostReply, 'outcome'>>): Promise<WireHostReply> {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof SnakepitError)) this.logger.error(`host bridge call failed: ${(error as Error).stack ?? error}`);
      return { error: hostErrorInfo(error) };
    }
  }

  /**
   * Lets a call through only with the secret in its metadata. A refused call ends there: its
   * handler never starts, so its message is never read (a stranger cannot make the host take
   * in a large message first).
   */
  private authenticate(path: string, call: grpc.ServerInterceptingCallInterface): grpc.ServerInterceptingCall {
    const listener = new grpc.ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        if (this.authorized(metadata)) return next(metadata);
        const method = path.slice(path.lastIndexOf('/') + 1);
        const peer = call.getPeer();
        this.logRefusal(method, peer);
        this.events.emit(SnakepitEvent.BridgeCallRefused, { method, peer });
        call.sendStatus({ code: grpc.status.UNAUTHENTICATED, details: `missing or wrong ${SECRET_METADATA_KEY}` });
      })
      .build();
    return new grpc.ServerInterceptingCall(call, { start: (next) => next(listener) });
  }

  /** Wraps a handler (the caller is authenticated by then) so that no rejection escapes. */
  private guard<Req, Rep>(handler: Handler<Req, Rep>): grpc.handleUnaryCall<Req, Rep> {
    return (call, callback) => {
      handler(call.request, call.metadata).then(
        (reply) => callback(null, reply),
        (error: Error) => callback({ code: grpc.status.INTERNAL, details: error.message }),
      );
    };
  }

  /** Logs a refused call, at most once every REFUSAL_LOG_INTERVAL_MS, with a count of the rest. */
  private logRefusal(method: string, peer: string): void {
    const now = Date.now();
    if (now - this.refusals.lastLoggedAt < REFUSAL_LOG_INTERVAL_MS) {
      this.refusals.unlogged++;
      return;
    }
    const more = this.refusals.unlogged ? ` (and ${this.refusals.unlogged} more refused since the last report)` : '';
    this.logger.warn(`refused a ${method} call from ${peer}: missing or wrong ${SECRET_METADATA_KEY}${more}`);
    this.refusals = { lastLoggedAt: now, unlogged: 0 };
  }

  private authorized(metadata: grpc.Metadata): boolean {
    const [given] = metadata.get(SECRET_METADATA_KEY);
    if (typeof given !== 'string' || !/^[0-9a-f]{64}$/.test(given)) return false;
    return timingSafeEqual(Buffer.from(given, 'hex'), this.secret);
  }
}

const PYTHON_EVENT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** The host-side name of an event Python emitted. */
function pythonEvent(name: string): `snakepit.python.${string}` {
  if (!PYTHON_EVENT_NAME.test(name)) throw new InvalidCallError([`event name must be 1-128 letters, digits, "_", "." or "-" (got "${name.slice(0, 64)}")`]);
  return `${PYTHON_EVENT_PREFIX}${name}` as `snakepit.python.${string}`;
}

function jsonObject(raw: Buffer, what: string): Record<string, unknown> {
  const value = raw?.length ? JSON.parse(raw.toString('utf8')) : {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InvalidCallError([`${what} must be a JSON object`]);
  return value;
}

/** `encode()`, with a value that cannot travel as the typed error `as` makes of it. */
function typed<T>(encode: () => T, as: (error: ValueEncodingError) => SnakepitError): T {
  try {
    return encode();
  } catch (error) {
    throw error instanceof ValueEncodingError ? as(error) : error;
  }
}
