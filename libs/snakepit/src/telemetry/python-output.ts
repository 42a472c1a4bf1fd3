import type { Logger } from '@nestjs/common';
import type { PythonLogLevel } from '../options/snakepit-options.interface';

type LoggerLevel = Exclude<PythonLogLevel, 'off'>;

const SEVERITY: Record<LoggerLevel, number> = { verbose: 0, debug: 1, log: 2, warn: 3, error: 4 };
/** The bridge's own log lines: "[snakepit_bridge worker=… pid=…] LEVEL message". */
const BRIDGE_LINE = /^\[snakepit_bridge [^\]]*\] (DEBUG|INFO|WARNING|ERROR|CRITICAL) /;
const BRIDGE_LEVELS: Record<string, LoggerLevel> = { DEBUG: 'debug', INFO: 'log', WARNING: 'warn', ERROR: 'error', CRITICAL: 'error' };

/** The Logger level of one line a worker printed, or undefined to drop it. */
export function outputLevel(line: string, stream: string, printed: PythonLogLevel): LoggerLevel | undefined {
  const bridge = BRIDGE_LINE.exec(line)?.[1];
  if (bridge) return BRIDGE_LEVELS[bridge];
  if (printed === 'off') return undefined;
  if (stream === 'stderr' && SEVERITY[printed] < SEVERITY.warn) return 'warn';
  return printed;
}

/** Sends a worker's output lines to its Logger (context: the worker id) at their level. */
export function logPythonOutput(logger: Logger, printed: PythonLogLevel): (line: string, stream: string) => void {
  return (line, stream) => {
    const level = outputLevel(line, stream, printed);
    if (level) logger[level](line);
  };
}
