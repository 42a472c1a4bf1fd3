export * from './snakepit.error';
export * from './config.errors';
export * from './pool.errors';
export * from './payload.errors';
export * from './worker.errors';
export * from './python.errors';
export * from './session.errors';
export * from './host-tool.errors';
