import { Injectable } from '@nestjs/common';
import { EventBus, type AnyEventListener } from './event-bus';
import type { EventMap, EventName } from './events';

export type { AnyEventListener } from './event-bus';

/**
 * The library's events, to listen to (the names and payloads: SnakepitEvent and EventMap).
 * `on(SnakepitEvent.WorkerCrashed, ({ workerId, classification }) => …)` and `onAny(listener)`
 * return a function that stops listening.
 */
@Injectable()
export class SnakepitEvents {
  constructor(private readonly bus: EventBus) {}

  on<K extends EventName>(event: K, listener: (payload: EventMap[K]) => void): () => void {
    return this.bus.on(event, listener);
  }

  onAny(listener: AnyEventListener): () => void {
    return this.bus.onAny(listener);
  }
}
