import { EventEmitter } from 'node:events';
import { Injectable } from '@nestjs/common';
import type { SnakepitEventName } from './events';

export type EventPayload = Record<string, unknown>;
type AnyListener = (event: SnakepitEventName, payload: EventPayload) => void;

/** The one place events leave the library. A listener that throws never breaks the emitter. */
@Injectable()
export class SnakepitEvents {
  private readonly emitter = new EventEmitter();
  private readonly anyListeners = new Set<AnyListener>();

  /** Listens to one event; returns a function that stops listening. */
  on(event: SnakepitEventName, listener: (payload: EventPayload) => void): () => void {
    this.emitter.on(event, listener);
    return () => this.emitter.off(event, listener);
  }

  /** Listens to every event, in the order they are emitted. */
  onAny(listener: AnyListener): () => void {
    this.anyListeners.add(listener);
    return () => this.anyListeners.delete(listener);
  }

  /** Whether anyone would hear `event`: lets a hot path skip building its payload. */
  listening(event: SnakepitEventName): boolean {
    return this.anyListeners.size > 0 || this.emitter.listenerCount(event) > 0;
  }

  emit(event: SnakepitEventName, payload: EventPayload): void {
    if (!this.listening(event)) return;
    for (const listener of this.emitter.listeners(event)) guarded(() => (listener as (payload: EventPayload) => void)(payload));
    for (const listener of this.anyListeners) guarded(() => listener(event, payload));
  }
}

function guarded(call: () => void): void {
  try {
    call();
  } catch {
    /* a broken listener must not break the pool */
  }
}
