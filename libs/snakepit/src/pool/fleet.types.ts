import type { SharedMemoryDir } from '../process/shared-memory-dir';
import type { WorkerStart } from '../options/snakepit-options.interface';
import type { WorkerRegistry } from '../process/process-registry';
import type { RecycleReason } from '../supervision/recycle-policy';
import type { EventSink } from './pool-telemetry';
import type { WorkerFactory } from './worker.types';

/** What every pool of an application shares. */
export interface FleetContext {
  /** Marks this application's workers. */
  runId: string;
  registry: WorkerRegistry;
  events: EventSink;
  /** After SIGTERM, how long a worker may take to exit before SIGKILL (shutdown.killTimeoutMs). */
  killTimeoutMs: number;
  /** Where a recycled worker's sessions go: to its successor. */
  affinity: SessionHandOver;
  /** Where workers listen (Unix sockets in a private directory, or loopback TCP). */
  sockets: { pathFor(workerId: string): string | undefined; release(workerId: string): void; attachPath?(): string };
  /** The run's shared-memory directory; without one, every buffer travels inside messages. */
  sharedMemory?: SharedMemoryDir;
  /** How workers start (workers.start); default spawn. */
  workerStart?: WorkerStart;
  /** Makes workers; default: real Python processes. */
  createWorker?: WorkerFactory;
}

/** The part of session affinity the fleet uses. */
export interface SessionHandOver {
  handOver(pool: string, workerId: string, successorId: string): void;
}

export interface SpawnPlan {
  /** The dead worker it replaces. */
  replaces?: string;
  /** It gets no work for this long once ready (crash barrier). */
  taintMs?: number;
  /** The recycled worker it takes over from once ready: its sessions and the calls waiting for it. */
  heirOf?: { workerId: string; reason: RecycleReason };
}
