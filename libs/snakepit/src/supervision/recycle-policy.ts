/** Why a worker is replaced by a successor: its age, by hand, or (thread profile) a call that
 *  outlived its caller while others still run on it. */
export type RecycleReason = 'ttl' | 'requests' | 'memory' | 'manual' | 'stuck';

export interface RecycleLimits {
  workerTtlMs?: number;
  maxRequestsPerWorker?: number;
  memoryLimitMb?: number;
}

export interface WorkerAge {
  startedAt: Date;
  /** Its life counts from here (boot time is not age). */
  readyAt?: Date;
  /** Calls it has finished. */
  requests: number;
  rssBytes?: number;
}

const MIB = 1024 * 1024;

/** The first limit the worker has reached, if any. */
export function recycleReason(worker: WorkerAge, limits: RecycleLimits, now: number): RecycleReason | undefined {
  if (limits.maxRequestsPerWorker !== undefined && worker.requests >= limits.maxRequestsPerWorker) return 'requests';
  if (limits.memoryLimitMb !== undefined && worker.rssBytes !== undefined && worker.rssBytes > limits.memoryLimitMb * MIB) return 'memory';
  if (limits.workerTtlMs !== undefined && now - (worker.readyAt ?? worker.startedAt).getTime() >= limits.workerTtlMs) return 'ttl';
  return undefined;
}
