import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter2, EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import { SnakepitModule } from '../snakepit.module';
import { EventBus } from './event-bus';
import { SnakepitEvent } from './events';
import { SnakepitEvents } from './snakepit-events';

Logger.overrideLogger(false);

@Injectable()
class CrashWatcher {
  seen: unknown[] = [];
  @OnEvent(SnakepitEvent.WorkerCrashed) crashed(payload: unknown) {
    this.seen.push(payload);
  }
}

/** An app with SnakepitModule and no worker (pooling disabled), booted to the end. */
async function app(extra: { imports?: any[]; providers?: any[] } = {}) {
  const module = await Test.createTestingModule({
    imports: [SnakepitModule.forRoot({ adapter: 'any.adapter:Any', poolingEnabled: false }), ...(extra.imports ?? [])],
    providers: extra.providers ?? [],
  }).compile();
  await module.createNestApplication({ logger: false }).init();
  return module;
}

describe('EventBus', () => {
  it('is listening only to events someone listens to', () => {
    const bus = new EventBus();
    expect(bus.listening(SnakepitEvent.RequestFinished)).toBe(false);
    const stop = new SnakepitEvents(bus).on(SnakepitEvent.RequestFinished, () => undefined);
    expect(bus.listening(SnakepitEvent.RequestFinished)).toBe(true);
    expect(bus.listening(SnakepitEvent.RequestFailed)).toBe(false);
    stop();
    expect(bus.listening(SnakepitEvent.RequestFinished)).toBe(false);
  });

  it('keeps a listener that throws from breaking the emitter', () => {
    const bus = new EventBus();
    const seen: string[] = [];
    bus.on(SnakepitEvent.SessionCreated, () => {
      throw new Error('broken listener');
    });
    bus.on(SnakepitEvent.SessionCreated, ({ sessionId }) => seen.push(sessionId));
    bus.emit(SnakepitEvent.SessionCreated, { sessionId: 's1' });
    expect(seen).toEqual(['s1']);
  });

  it('in an app without @nestjs/event-emitter, nobody listens once it has booted', async () => {
    const module = await app();
    expect(module.get(EventBus).listening(SnakepitEvent.RequestFinished)).toBe(false);
    await module.close();
  });

  it('with EventEmitterModule, listens to the events that have @OnEvent handlers, and delivers them', async () => {
    const module = await app({ imports: [EventEmitterModule.forRoot()], providers: [CrashWatcher] });
    const bus = module.get(EventBus);
    await new Promise((resolve) => setImmediate(resolve)); // the handlers bind after bootstrap
    expect(bus.listening(SnakepitEvent.WorkerCrashed)).toBe(true);
    expect(bus.listening(SnakepitEvent.RequestFinished)).toBe(false);
    const crash = { pool: 'p', workerId: 'p-1', pid: 1, exitCode: 1, signal: null, classification: 'other' as const, inFlight: false };
    bus.emit(SnakepitEvent.WorkerCrashed, crash);
    expect(module.get(CrashWatcher).seen).toEqual([crash]);
    // EventEmitter2's onAny() hears every event.
    const any: string[] = [];
    module.get(EventEmitter2).onAny((event: string | string[]) => any.push(String(event)));
    expect(bus.listening(SnakepitEvent.RequestFinished)).toBe(true);
    bus.emit(SnakepitEvent.SessionCreated, { sessionId: 's1' });
    expect(any).toEqual([SnakepitEvent.SessionCreated]);
    await module.close();
  });
});
