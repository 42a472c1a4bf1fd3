import { throughTheValueModel } from '../data/standalone-value';
import { RequestAbortedError, RequestTimeoutError } from '../errors';
import type { FakeTool } from './testing.types';

const STREAMING = Symbol('snakepit:streaming-tool');

/**
 * Marks a fake tool as a streaming one, for functions that return an async iterable but are not
 * async generator functions themselves (a `jest.fn(...)`, a transpiled generator).
 */
export function streamingTool<T extends FakeTool>(tool: T): T {
  return Object.assign(tool, { [STREAMING]: true });
}

/** Async generator functions, and tools marked with streamingTool(), stream. */
export function isStreamingTool(tool: FakeTool): boolean {
  if ((tool as { [STREAMING]?: boolean })[STREAMING]) return true;
  const kind = Object.getPrototypeOf(tool)?.constructor?.name;
  return kind === 'AsyncGeneratorFunction' || kind === 'GeneratorFunction';
}

export interface Limits {
  signal?: AbortSignal;
  timeoutMs?: number;
  /** When the call's time is up (Date.now() terms): timeoutMs bounds a whole stream. */
  deadline?: number;
}

export function limitsOf(options: { signal?: AbortSignal; timeoutMs?: number }): Limits {
  return { signal: options.signal, timeoutMs: options.timeoutMs, deadline: options.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs };
}

/** Runs `step` within the call's time and abort signal; running out of either aborts the tool's own signal too. */
export async function withLimits<T>(tool: string, limits: Limits, controller: AbortController, step: () => T | Promise<T>): Promise<T> {
  const { signal, timeoutMs, deadline } = limits;
  if (signal?.aborted) throw new RequestAbortedError(tool, signal.reason);
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    if (deadline !== undefined) {
      timer = setTimeout(() => {
        controller.abort(new Error('timed out'));
        reject(new RequestTimeoutError(tool, timeoutMs!));
      }, Math.max(0, deadline - Date.now()));
    }
    if (signal) {
      onAbort = () => {
        controller.abort(signal.reason);
        reject(new RequestAbortedError(tool, signal.reason));
      };
      signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  try {
    // A call given up before its turn never starts the tool.
    const work = Promise.resolve().then(() => {
      if (controller.signal.aborted) throw controller.signal.reason;
      return step();
    });
    return await Promise.race([work, stop]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal!.removeEventListener('abort', onAbort);
  }
}

/** What the caller gets, as if it had crossed the wire (the value model: typed arrays as
 *  NdArray, bytes as Buffers, Dates, bigints, everything else a JSON copy). */
export function normalizeResult(value: unknown): unknown {
  return value === undefined ? null : throughTheValueModel(value, 'result');
}
