/** Every event the library emits, by name. Listen with `SnakepitEvents.on(name, listener)`. */
export const SnakepitEvent = {
  /** { sessionId } */
  SessionCreated: 'snakepit.session.created',
  /** { sessionId, idleMs } — removed by the sweep after sessions.ttlMs without use. */
  SessionExpired: 'snakepit.session.expired',
  /** { sessionId } */
  SessionDeleted: 'snakepit.session.deleted',
  /** { tool, sessionId, workerId, durationMs, ok } — Python called a host tool. */
  HostToolCalled: 'snakepit.host_tool.called',
  /** { method, peer } — a call to the host bridge without the right secret was refused. */
  BridgeCallRefused: 'snakepit.bridge.refused',
} as const;

export type SnakepitEventName = (typeof SnakepitEvent)[keyof typeof SnakepitEvent];
