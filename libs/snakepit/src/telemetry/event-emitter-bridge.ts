import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { EventBus } from './event-bus';
import type { EventName } from './events';

/** Events kept while @OnEvent listeners are not bound yet; beyond that the oldest go. */
const MAX_BUFFERED = 10_000;

interface Emitter {
  emit(event: string, payload: unknown): unknown;
  listenerCount?(event?: string): number;
  listenersAny?(): unknown[];
}

interface EmitterPackage {
  EventEmitter2: abstract new (...args: never[]) => Emitter;
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
 * Sends the library's events to @nestjs/event-emitter's EventEmitter2 when the application has
 * imported EventEmitterModule, so `@OnEvent('snakepit.worker.crashed')` works. Events from boot
 * (workers start during init, before @OnEvent handlers are bound) are kept and delivered, in
 * order, once they are. After that it wants only the events EventEmitter2 has listeners for;
 * without the module it wants none.
 */
@Injectable()
export class EventEmitterBridge implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Snakepit:events');
  private buffer: Array<[EventName, unknown]> = [];
  private dropped = 0;
  /** undefined while booting (every event is kept); null once it is known there is no emitter. */
  private target?: Emitter | null;
  private readonly detach: () => void;

  constructor(bus: EventBus, private readonly moduleRef: ModuleRef) {
    this.detach = bus.attach({
      wants: (event) => this.wants(event),
      deliver: (event, payload) => this.forward(event, payload),
    });
  }

  onApplicationBootstrap(): void {
    const pkg = emitterPackage();
    const emitter = pkg && this.find(pkg.EventEmitter2);
    if (!emitter) {
      this.target = null;
      this.detach();
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
    this.detach();
  }

  private wants(event: EventName): boolean {
    if (this.target === undefined) return true;
    if (this.target === null) return false;
    if (typeof this.target.listenerCount !== 'function') return true;
    // EventEmitter2's onAny() listeners hear every event, and listenerCount() does not count them.
    return this.target.listenerCount(event) > 0 || (this.target.listenersAny?.().length ?? 0) > 0;
  }

  private open(emitter: Emitter): void {
    if (this.dropped) this.logger.warn(`${this.dropped} events from boot were dropped (more than ${MAX_BUFFERED} waited)`);
    // Events a handler causes while the buffer drains queue up behind it, so the order holds.
    for (let next = this.buffer.shift(); next; next = this.buffer.shift()) this.deliver(emitter, ...next);
    this.target = emitter;
  }

  private forward(event: EventName, payload: unknown): void {
    if (this.target) return this.deliver(this.target, event, payload);
    this.buffer.push([event, payload]);
    if (this.buffer.length > MAX_BUFFERED) {
      this.buffer.shift();
      this.dropped++;
    }
  }

  private deliver(emitter: Emitter, event: EventName, payload: unknown): void {
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
