import { InvalidCallError } from '../errors';
import type { ExecuteOptions } from './pool.types';

/** Checks a call's own arguments (not the tool's), so mistakes fail loudly before anything queues. */
export function assertValidCall(tool: unknown, options: ExecuteOptions): void {
  const problems: string[] = [];
  if (typeof tool !== 'string' || tool.length === 0) problems.push('tool must be a non-empty string');
  if (options.timeoutMs !== undefined && !(Number.isFinite(options.timeoutMs) && options.timeoutMs > 0)) {
    problems.push(`timeoutMs must be a positive number of milliseconds (got ${String(options.timeoutMs)})`);
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    problems.push('signal must be an AbortSignal');
  }
  if (problems.length) throw new InvalidCallError(problems);
}
