import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { SnakepitEventName } from './events';
import { SnakepitEvents, type EventPayload } from './snakepit-events';

/** Events kept while @OnEvent listeners are not bound yet; beyond that the oldest go. */
const MAX_BUFFERED = 10_000;

interface EmitterPackage {
  EventEmitter2: abstract new (...args: never[]) => { emit(event: string, payload: unknown): unknown };
  EventEmitterReadinessWatcher?: abstract new (...args: never[]) => { waitUntilReady(): Promise<void> };
}

/** @nestjs/event-emitter if the application has it (it is optional). */
function emitterPackage(): EmitterPackage | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('@nestjs/event-emitter') as EmitterPackage;
  } catch {
    return undefined;
  }
}

/**
 * Sends every library event to @nestjs/event-emitter's EventEmitter2 when the application has
 * imported EventEmitterModule, so `@OnEvent('snakepit.worker.crashed')` works. Events from boot
 * (workers start during init, before @OnEvent handlers are bound) are kept and delivered, in
 * order, once they are. Without the module, nothing happens.
 */
@Injectable()
export class EventEmitterBridge implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Snakepit:events');
  private buffer: Array<[SnakepitEventName, EventPayload]> = [];
  private dropped = 0;
  private target?: { emit(event: string, payload: unknown): unknown };
  private readonly stop: () => void;

  constructor(events: SnakepitEvents, private readonly moduleRef: ModuleRef) {
    this.stop = events.onAny((event, payload) => this.forward(event, payload));
  }

  onApplicationBootstrap(): void {
    const pkg = emitterPackage();
    const emitter = pkg && this.find(pkg.EventEmitter2);
    if (!emitter) {
      this.stop();
      this.buffer = [];
      return;
    }
    const watcher = pkg.EventEmitterReadinessWatcher && this.find(pkg.EventEmitterReadinessWatcher);
    // EventEmitterModule binds the @OnEvent handlers in its own onApplicationBootstrap.
    void (watcher?.waitUntilReady() ?? new Promise((resolve) => setImmediate(resolve))).then(
      () => this.open(emitter),
      () => this.open(emitter),
    );
  }

  onApplicationShutdown(): void {
    this.stop();
  }

  private open(emitter: { emit(event: string, payload: unknown): unknown }): void {
    if (this.dropped) this.logger.warn(`${this.dropped} events from boot were dropped (more than ${MAX_BUFFERED} waited)`);
    // Events a handler causes while the buffer drains queue up behind it, so the order holds.
    for (let next = this.buffer.shift(); next; next = this.buffer.shift()) this.deliver(emitter, ...next);
    this.target = emitter;
  }

  private forward(event: SnakepitEventName, payload: EventPayload): void {
    if (this.target) return this.deliver(this.target, event, payload);
    this.buffer.push([event, payload]);
    if (this.buffer.length > MAX_BUFFERED) {
      this.buffer.shift();
      this.dropped++;
    }
  }

  private deliver(emitter: { emit(event: string, payload: unknown): unknown }, event: SnakepitEventName, payload: EventPayload): void {
    try {
      emitter.emit(event, payload);
    } catch (error) {
      this.logger.warn(`an @OnEvent('${event}') handler threw: ${(error as Error).message}`);
    }
  }

  private find<T>(token: abstract new (...args: never[]) => T): T | undefined {
    try {
      return this.moduleRef.get(token as never, { strict: false }) as T;
    } catch {
      return undefined;
    }
  }
}
