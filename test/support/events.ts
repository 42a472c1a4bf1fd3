import { SnakepitEvent, SnakepitEvents, type SnakepitEventName } from '@snakepit/nestjs';
import type { TestApp } from './app';

export interface Recorded {
  event: SnakepitEventName;
  payload: Record<string, any>;
}

/** Records every library event the app emits from now on, in order. */
export function recordEvents(app: TestApp): Recorded[] {
  const events = app.module.get(SnakepitEvents);
  const seen: Recorded[] = [];
  for (const event of Object.values(SnakepitEvent)) events.on(event, (payload) => seen.push({ event, payload }));
  return seen;
}

/** The recorded events of these names, in order. */
export function named(seen: Recorded[], ...names: SnakepitEventName[]): Recorded[] {
  return seen.filter((entry) => names.includes(entry.event));
}
