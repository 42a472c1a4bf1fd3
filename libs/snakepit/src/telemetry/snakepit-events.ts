import { EventEmitter } from 'node:events';
import { Injectable } from '@nestjs/common';
import type { SnakepitEventName } from './events';

/** The one place events leave the library. A listener that throws never breaks the emitter. */
@Injectable()
export class SnakepitEvents {
  private readonly emitter = new EventEmitter();

  on(event: SnakepitEventName, listener: (payload: Record<string, unknown>) => void): () => void {
    this.emitter.on(event, listener);
    return () => this.emitter.off(event, listener);
  }

  emit(event: SnakepitEventName, payload: Record<string, unknown>): void {
    for (const listener of this.emitter.listeners(event)) {
      try {
        (listener as (payload: Record<string, unknown>) => void)(payload);
      } catch {
        /* a broken listener must not break the pool */
      }
    }
  }
}
