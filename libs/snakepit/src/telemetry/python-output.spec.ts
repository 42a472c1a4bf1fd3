import { outputLevel } from './python-output';

describe('outputLevel', () => {
  it('keeps the level of the bridge\'s own lines', () => {
    expect(outputLevel('[snakepit_bridge worker=w pid=1] INFO ready', 'stderr', 'off')).toBe('log');
    expect(outputLevel('[snakepit_bridge worker=w pid=1] WARNING slow', 'stderr', 'debug')).toBe('warn');
    expect(outputLevel('[snakepit_bridge worker=w pid=1] CRITICAL gone', 'stdout', 'log')).toBe('error');
  });

  it('logs printed lines at the configured level, stderr never below warn, and drops them when off', () => {
    expect(outputLevel('hello', 'stdout', 'debug')).toBe('debug');
    expect(outputLevel('hello', 'stderr', 'debug')).toBe('warn');
    expect(outputLevel('Traceback', 'stderr', 'error')).toBe('error');
    expect(outputLevel('hello', 'stdout', 'off')).toBeUndefined();
    expect(outputLevel('hello', 'stderr', 'off')).toBeUndefined();
  });
});
