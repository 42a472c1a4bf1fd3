import { EventEmitter } from 'node:events';
import { Injectable } from '@nestjs/common';
import type { EventMap, EventName } from './events';

export type AnyEventListener = <K extends EventName>(event: K, payload: EventMap[K]) => void;

/** Somewhere events go beside in-process listeners (@nestjs/event-emitter), asked each time
 *  whether it wants the event, so that an event nobody wants costs nothing. */
export interface EventSinkTarget {
  wants(event: EventName): boolean;
  deliver(event: EventName, payload: unknown): void;
}

/**
 * The one place events leave the library (internal: the library emits, applications listen
 * through SnakepitEvents). A listener that throws never breaks the emitter.
 */
@Injectable()
export class EventBus {
  private readonly emitter = new EventEmitter();
  private readonly anyListeners = new Set<AnyEventListener>();
  private readonly targets = new Set<EventSinkTarget>();

  on<K extends EventName>(event: K, listener: (payload: EventMap[K]) => void): () => void {
    this.emitter.on(event, listener);
    return () => this.emitter.off(event, listener);
  }

  onAny(listener: AnyEventListener): () => void {
    this.anyListeners.add(listener);
    return () => this.anyListeners.delete(listener);
  }

  /** Adds a target; returns a function that removes it. */
  attach(target: EventSinkTarget): () => void {
    this.targets.add(target);
    return () => this.targets.delete(target);
  }

  /** Whether anyone would hear `event`: lets a hot path skip building its payload. */
  listening(event: EventName): boolean {
    if (this.anyListeners.size > 0 || this.emitter.listenerCount(event) > 0) return true;
    for (const target of this.targets) if (target.wants(event)) return true;
    return false;
  }

  emit<K extends EventName>(event: K, payload: EventMap[K]): void {
    if (this.emitter.listenerCount(event) > 0) {
      for (const listener of this.emitter.listeners(event)) guarded(() => (listener as (payload: EventMap[K]) => void)(payload));
    }
    for (const listener of this.anyListeners) guarded(() => listener(event, payload));
    for (const target of this.targets) if (target.wants(event)) guarded(() => target.deliver(event, payload));
  }
}

function guarded(call: () => void): void {
  try {
    call();
  } catch {
    /* a broken listener must not break the pool */
  }
}
