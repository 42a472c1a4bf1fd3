import { residentBytes } from '../process/process-info';
import type { PoolWorker } from '../pool/worker.types';
import type { PoolConfig } from '../options/resolve-options';
import { recycleReason, type RecycleReason } from './recycle-policy';

export interface MonitorVerdicts {
  /** The worker missed `heartbeat.maxMisses` pings in a row. */
  unresponsive(worker: PoolWorker, missed: number): void;
  /** The worker reached a recycling limit (TTL, memory); the pool replaces it when it is idle. */
  due(worker: PoolWorker, reason: RecycleReason): void;
}

/**
 * Watches one ready worker on one timer, every `heartbeat.intervalMs`: pings it (one ping at a
 * time, each allowed `heartbeat.timeoutMs`), samples its resident memory when there is a memory
 * limit, and checks its age. It only reports; the pool decides.
 */
export class WorkerMonitor {
  private timer?: NodeJS.Timeout;
  private pinging = false;
  private misses = 0;

  constructor(
    private readonly worker: PoolWorker,
    private readonly config: Pick<PoolConfig, 'heartbeat' | 'recycle'>,
    private readonly verdicts: MonitorVerdicts,
  ) {}

  /** Whether this pool needs a monitor at all. */
  static wanted(config: Pick<PoolConfig, 'heartbeat' | 'recycle'>): boolean {
    return config.heartbeat.enabled || config.recycle.workerTtlMs !== undefined || config.recycle.memoryLimitMb !== undefined;
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.config.heartbeat.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    if (!this.worker.serving) return this.stop();
    if (this.config.heartbeat.enabled && !this.pinging) this.ping();
    if (this.config.recycle.memoryLimitMb !== undefined) void this.sampleMemory();
    else this.judgeAge();
  }

  private ping(): void {
    this.pinging = true;
    this.worker.ping(this.config.heartbeat.timeoutMs).then(
      () => {
        this.pinging = false;
        this.misses = 0;
      },
      () => {
        this.pinging = false;
        if (!this.timer || !this.worker.serving) return;
        this.misses++;
        if (this.misses < this.config.heartbeat.maxMisses) return;
        this.stop();
        this.verdicts.unresponsive(this.worker, this.misses);
      },
    );
  }

  private async sampleMemory(): Promise<void> {
    const pid = this.worker.pid;
    if (pid === undefined) return;
    const rss = await residentBytes(pid);
    if (rss !== undefined) this.worker.recordMemory(rss);
    this.judgeAge();
  }

  private judgeAge(): void {
    if (!this.timer || !this.worker.serving) return;
    const reason = recycleReason(this.worker, this.config.recycle, Date.now());
    if (reason) this.verdicts.due(this.worker, reason);
  }
}
