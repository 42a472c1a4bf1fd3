import { InvalidCallError } from '../errors';
import { MAX_TIMER_MS } from '../options/options.schema';
import { AFFINITY_MODES } from '../options/snakepit-options.interface';
import type { ExecuteOptions } from './pool.types';

/** Checks a call's own arguments (not the tool's), so mistakes fail loudly before anything queues. */
export function assertValidCall(tool: unknown, options: ExecuteOptions): void {
  const problems: string[] = [];
  if (typeof tool !== 'string' || tool.length === 0) problems.push('tool must be a non-empty string');
  const timeoutMs = options.timeoutMs;
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs > 0 && timeoutMs <= MAX_TIMER_MS)) {
    problems.push(`timeoutMs must be a number of milliseconds from 1 to ${MAX_TIMER_MS} (got ${String(timeoutMs)})`);
  }
  const affinity = (options as { affinity?: unknown }).affinity;
  if (affinity !== undefined && !(AFFINITY_MODES as readonly unknown[]).includes(affinity)) {
    problems.push(`affinity must be ${AFFINITY_MODES.map((mode) => `"${mode}"`).join(', ')} (got ${String(affinity)})`);
  }
  if (options.idempotent !== undefined && typeof options.idempotent !== 'boolean') {
    problems.push(`idempotent must be a boolean (got ${String(options.idempotent)})`);
  }
  if (options.validateArguments !== undefined && typeof options.validateArguments !== 'boolean') {
    problems.push(`validateArguments must be a boolean (got ${String(options.validateArguments)})`);
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    problems.push('signal must be an AbortSignal');
  }
  if (problems.length) throw new InvalidCallError(problems);
}
