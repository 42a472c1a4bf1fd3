/** One call from the moment PoolService accepts it until its promise settles. */
export interface PendingCall {
  id: string;
  tool: string;
  args: Buffer;
  timeoutMs: number;
  enqueuedAt: number;
  /** queued → running → done; a running call whose caller gave up becomes abandoned. */
  state: 'queued' | 'running' | 'abandoned' | 'done';
  workerId?: string;
  /** Set while the call waits in a ready pool's queue (queue.timeoutMs). */
  queueTimer?: NodeJS.Timeout;
  resolve(value: unknown): void;
  reject(error: Error): void;
  /** Timers and listeners to clear when the call settles. */
  cleanup: Array<() => void>;
}
