import { Logger } from '@nestjs/common';
import { isWorkerDeath, PoolClosedError, SnakepitError, WorkerStartError } from '../errors';
import { SnakepitEvent } from '../telemetry/events';
import type { PoolStatus } from './pool.types';
import type { PoolTelemetry } from './pool-telemetry';
import type { PoolWorker } from './worker.types';

/** A promise with its settle functions. */
class Deferred {
  readonly promise: Promise<void>;
  resolve!: () => void;
  reject!: (error: Error) => void;
  constructor() {
    this.promise = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.promise.catch(() => undefined);
  }
}

function rejected(error: Error): Promise<void> {
  const promise = Promise.reject(error);
  promise.catch(() => undefined);
  return promise;
}

/**
 * Where a pool is. `starting` (again, after a failure, when `recovering`) until every worker is
 * ready; `ready` while it serves; `failed` when it could not start or its workers kept dying,
 * until the cool-down or restart() starts it again; `closing`, then `closed`. Each phase holds
 * what `ready()` answers in it.
 */
type PoolPhase =
  | { status: 'starting'; readiness: Deferred; recovering: boolean }
  | { status: 'ready'; readiness: Promise<void> }
  | { status: 'failed'; readiness: Promise<void>; failure: SnakepitError; cooldown: NodeJS.Timeout }
  | { status: 'closing'; readiness: Promise<void>; closed: Promise<void> }
  | { status: 'closed'; readiness: Promise<void>; closed: Promise<void> };

/** The phases each one may follow. */
const FROM: Readonly<Record<PoolStatus, readonly PoolStatus[]>> = {
  starting: ['failed'],
  ready: ['starting'],
  failed: ['starting', 'ready'],
  closing: ['starting', 'ready', 'failed'],
  closed: ['closing'],
};

/**
 * A pool's phase, changed only through `transition`, which checks that the step is legal and
 * does what entering and leaving a phase mean: settling `ready()`, the cool-down timer, the
 * log line and the pool's event.
 */
export class PoolLifecycle {
  private phase: PoolPhase = { status: 'starting', readiness: new Deferred(), recovering: false };
  private readonly logger: Logger;

  constructor(
    private readonly telemetry: PoolTelemetry,
    private readonly cooldownMs: number,
    /** What the cool-down of a failed pool ends with: a start again. */
    private readonly onCooldown: () => void,
  ) {
    this.logger = new Logger(`Snakepit:${telemetry.pool}`);
  }

  get status(): PoolStatus {
    return this.phase.status;
  }

  /** Starting or ready: workers that leave are replaced, and calls are taken. */
  get accepting(): boolean {
    return this.phase.status === 'starting' || this.phase.status === 'ready';
  }

  get shuttingDown(): boolean {
    return this.phase.status === 'closing' || this.phase.status === 'closed';
  }

  /** Why the pool is `failed`: calls get it until the pool recovers. */
  get failure(): SnakepitError | undefined {
    return this.phase.status === 'failed' ? this.phase.failure : undefined;
  }

  /** The close under way (or done), once the pool closes. */
  get closed(): Promise<void> | undefined {
    return this.phase.status === 'closing' || this.phase.status === 'closed' ? this.phase.closed : undefined;
  }

  ready(): Promise<void> {
    return this.phase.status === 'starting' ? this.phase.readiness.promise : this.phase.readiness;
  }

  /** Refuses new calls while the pool cannot take them. */
  assertOpen(): void {
    if (this.shuttingDown) throw new PoolClosedError(this.telemetry.pool);
    if (this.phase.status === 'failed') throw this.phase.failure;
  }

  /** The error a call whose worker died gets: the shutdown or the pool's failure, when that is what killed it. */
  explainLoss(tool: string, error: SnakepitError, worker: PoolWorker): SnakepitError {
    if (!isWorkerDeath(error) || worker.stopReason !== 'shutdown') return error;
    if (this.shuttingDown) return new PoolClosedError(this.telemetry.pool, `it shut down before "${tool}" finished (shutdown.graceMs)`);
    return this.failure ?? error;
  }

  /** Every worker is ready. */
  toReady(workers: number, adapter: string): boolean {
    if (this.phase.status !== 'starting') return false;
    const { readiness, recovering } = this.phase;
    this.transition({ status: 'ready', readiness: readiness.promise });
    this.logger.log(`${recovering ? 'recovered' : 'ready'}: ${workers} workers of ${adapter}`);
    this.telemetry.emit(recovering ? SnakepitEvent.PoolRecovered : SnakepitEvent.PoolReady, { pool: this.telemetry.pool, workers });
    readiness.resolve();
    return true;
  }

  /**
   * The pool cannot serve: it could not start, or its restart budget is spent. `stopAll` runs
   * once the pool is failed and before that is announced (it stops the workers and fails the
   * waiting calls). Returns false when the pool was not starting or ready.
   */
  toFailed(error: Error, stopAll: (failure: SnakepitError) => void): boolean {
    if (!this.accepting) return false;
    const failure = error instanceof SnakepitError ? error : WorkerStartError.ofPool(this.telemetry.pool, error.message);
    const waiting = this.phase.status === 'starting' ? this.phase.readiness : undefined;
    const cooldown = setTimeout(() => {
      this.logger.log(`trying to start again after ${this.cooldownMs} ms (restart.cooldownMs)`);
      this.onCooldown();
    }, this.cooldownMs);
    cooldown.unref();
    this.transition({ status: 'failed', readiness: rejected(failure), failure, cooldown });
    this.logger.error(failure.message);
    waiting?.reject(failure); // callers waiting for the start
    stopAll(failure);
    this.telemetry.emit(SnakepitEvent.PoolFailed, { pool: this.telemetry.pool, code: failure.code, message: failure.message });
    return true;
  }

  /** A failed pool starts again. */
  toStarting(): boolean {
    if (this.phase.status !== 'failed') return false;
    this.transition({ status: 'starting', readiness: new Deferred(), recovering: true });
    this.logger.log('starting again after its failure');
    return true;
  }

  /** The pool stops taking work; `closed` is the close under way. */
  toClosing(closed: Promise<void>): void {
    const readiness = this.ready();
    if (this.phase.status === 'starting') this.phase.readiness.reject(new PoolClosedError(this.telemetry.pool, 'it was closed before it was ready'));
    this.transition({ status: 'closing', readiness, closed });
  }

  toClosed(stopped: number): void {
    if (this.phase.status !== 'closing') return;
    this.transition({ status: 'closed', readiness: this.phase.readiness, closed: this.phase.closed });
    this.logger.log(`closed: stopped ${stopped} worker${stopped === 1 ? '' : 's'}`);
  }

  /** The one way the phase changes: a step the table allows, leaving the old phase behind. */
  private transition(next: PoolPhase): void {
    const from = this.phase;
    if (!FROM[next.status].includes(from.status)) throw new Error(`pool ${this.telemetry.pool} cannot go from ${from.status} to ${next.status}`);
    if (from.status === 'failed') clearTimeout(from.cooldown);
    this.phase = next;
  }
}
