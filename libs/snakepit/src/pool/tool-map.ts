/**
 * Types of typed calls: a pool's tools as TypeScript sees them. `snakepit gen types` writes an
 * interface mapping each tool name to a ToolContract; PoolService, BoundPool, RemotePoolService
 * and BoundRemotePool take it as a type parameter (`BoundPool<MlTools>`). Without one they take
 * OpenTools: any tool name, any arguments, and results typed by the caller (`execute<T>()`).
 * Types only: nothing here exists at run time.
 */

/** One tool's contract: its keyword arguments, its result and (a streaming tool) each chunk. */
export interface ToolContract {
  args: object;
  result: unknown;
  chunk?: unknown;
}

/** The default tool map: every name is a tool, with any arguments. */
export interface OpenTools {
  [tool: string]: { args: Record<string, unknown>; result: unknown; chunk: unknown };
}

/** What a pool's type parameter must be: an interface of ToolContracts (or OpenTools). */
export type ToolMap<Tools> = { [K in keyof Tools]: ToolContract };

/** Whether `Tools` is open (an index signature of strings): the untyped API. */
type IsOpen<Tools> = string extends keyof Tools ? true : false;

/** The names of the tools (typed), or what the first type parameter is (open: the result type T). */
export type ToolPick<Tools> = IsOpen<Tools> extends true ? unknown : keyof Tools & string;
/** The names of the streaming tools (those with a chunk type). */
export type StreamPick<Tools> = IsOpen<Tools> extends true
  ? unknown
  : { [K in keyof Tools]-?: Tools[K] extends { chunk: unknown } ? K : never }[keyof Tools] & string;

/** The tool parameter: any string (open), else the picked tool. */
export type ToolName<Tools, K> = IsOpen<Tools> extends true ? string : K;

type ArgsOf<Tools, K> = K extends keyof Tools ? (Tools[K] extends { args: infer A } ? A : Record<string, unknown>) : never;

/** The parameters after the tool name: optional arguments when the tool requires none. */
export type CallRest<Tools, K, Options> = IsOpen<Tools> extends true
  ? [args?: Record<string, unknown>, options?: Options]
  : {} extends ArgsOf<Tools, K>
    ? [args?: ArgsOf<Tools, K>, options?: Options]
    : [args: ArgsOf<Tools, K>, options?: Options];

/** What a call resolves with: the tool's result, or (open) the caller's T. */
export type ToolResult<Tools, K> = IsOpen<Tools> extends true ? K : K extends keyof Tools ? (Tools[K] extends { result: infer R } ? R : unknown) : never;

/** The data of a stream's chunks: the tool's chunk type, or (open) the caller's T. */
export type ToolChunk<Tools, K> = IsOpen<Tools> extends true ? K : K extends keyof Tools ? (Tools[K] extends { chunk: infer C } ? C : unknown) : never;
