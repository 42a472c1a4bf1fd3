import type { SnakepitModuleOptions } from '../options/snakepit-options.interface';

/** What a fake tool gets beside its arguments: the session, like Python's `self.session_context`. */
export interface FakeToolContext {
  pool: string;
  tool: string;
  /** The call's session; `ephemeral-<n>` for a call made with `execute`. */
  sessionId: string;
  ephemeral: boolean;
  /** Aborted when the caller gives up (its signal, its timeout, or it stopped reading a stream). */
  signal: AbortSignal;
  getState<T = unknown>(key: string, fallback?: T): Promise<T | undefined>;
  setState(key: string, value: unknown): Promise<void>;
  deleteState(key: string): Promise<void>;
  /** Calls a host tool (`@SnakepitTool`) of the app, validated as it would be for Python. */
  callHostTool<T = unknown>(name: string, args?: Record<string, unknown>): Promise<T>;
}

/**
 * A tool in place of a Python one. It gets a copy of the arguments through the value model (as
 * the host decodes values: typed arrays as NdArray, bytes as Buffers, Dates, bigints) and
 * returns any value a Python tool may (JSON, Buffers, typed arrays, NdArray, Dates…) or a
 * promise of one. An async generator function is a
 * streaming tool (so is a function that returns an async iterable, once wrapped in
 * streamingTool()): each yielded value is a chunk, and a returned value arrives as the last one.
 * A thrown error reaches the caller as it is.
 */
export type FakeTool = (args: any, context: FakeToolContext) => unknown;

export interface SnakepitTestingOptions {
  /** The tools of the pool named "default". */
  tools?: Record<string, FakeTool>;
  /** Tools of further named pools (for `{ pool }` and `@InjectPool(name)`). */
  pools?: Record<string, Record<string, FakeTool>>;
  /** Session settings, as in forRoot() (the store is in memory unless given). */
  sessions?: SnakepitModuleOptions['sessions'];
}

/** One call a fake pool received, for assertions. */
export interface RecordedCall {
  pool: string;
  tool: string;
  args: Record<string, unknown>;
  sessionId?: string;
  stream: boolean;
}
