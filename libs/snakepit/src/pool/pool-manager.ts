import { SnakepitRun } from '../snakepit-run';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { PoolNotFoundError, PoolingDisabledError, WorkerNotFoundError } from '../errors';
import { DEFAULT_POOL_NAME, type ResolvedOptions } from '../options/resolve-options';
import { killMarked } from '../process/marked-processes';
import { reapOrphans } from '../process/orphan-reaper';
import { ProcessRegistry } from '../process/process-registry';
import { WorkerSockets } from '../process/worker-sockets';
import { HOST_BRIDGE, SNAKEPIT_CONFIG, type HostBridge } from '../snakepit.constants';
import { SnakepitEvent } from '../telemetry/events';
import { SessionAffinity } from '../session/session-affinity';
import { EventBus } from '../telemetry/event-bus';
import { Pool } from './pool';
import type { FleetContext } from './worker-fleet';

/**
 * Owns every pool of one Nest application and ties them to its lifecycle: started at init
 * (or on first use, whichever comes first) once orphans of earlier runs are reaped and the host
 * bridge listens; drained and stopped at shutdown, before the bridge stops.
 *
 * The drain begins in beforeApplicationShutdown, before Nest closes the HTTP server (which
 * waits for every request in flight): the calls behind those requests end within the grace
 * period, so the server can close, and calls still queued get PoolClosedError.
 */
@Injectable()
export class PoolManager implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown {
  /** Marks this application's workers (it is on their command line and in their environment). */
  readonly runId: string;
  private readonly logger = new Logger('Snakepit');
  private readonly pools = new Map<string, Pool>();
  private readonly registry: ProcessRegistry;
  private readonly sockets: WorkerSockets;
  private started = false;

  constructor(
    @Inject(SNAKEPIT_CONFIG) private readonly options: ResolvedOptions,
    @Inject(HOST_BRIDGE) private readonly bridge: HostBridge,
    private readonly events: EventBus,
    affinity: SessionAffinity,
    private readonly run: SnakepitRun,
  ) {
    this.runId = run.runId;
    this.registry = new ProcessRegistry(options.runtimeDir, options.instanceName, this.runId, (error) =>
      this.logger.warn(
        `cannot write the process registry in ${options.runtimeDir} (${error.message}): workers left by a ` +
          'killed host will not be found at the next boot. Make runtimeDir writable.',
      ),
    );
    this.sockets = new WorkerSockets(options.workers.transport, (dir) => this.registry.addPrivateDir(dir));
    if (options.poolingEnabled) {
      const context: FleetContext = { runId: this.runId, registry: this.registry, events, killTimeoutMs: options.killTimeoutMs, affinity, sockets: this.sockets, workerStart: options.workers.start, sharedMemory: run.sharedMemory };
      for (const config of options.pools) this.pools.set(config.name, new Pool(config, context));
    }
  }

  async onModuleInit(): Promise<void> {
    this.ensureStarted();
    if (this.options.waitForReady) await this.ready();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.closePools();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.closePools(); // already closed, unless a hook of the app's failed before ours
    // What tools started outside their worker's process group goes before the record does.
    if (this.options.poolingEnabled) await killMarked({ runId: this.runId }).catch(() => []);
    this.registry.close();
    this.sockets.remove();
    this.run.sharedMemory.removeAll();
    await this.bridge.stop();
  }

  /** Closes every pool (see Pool.close); by default with shutdown.graceMs and shutdown.killTimeoutMs. */
  async closePools(graceMs = this.options.shutdownGraceMs, killTimeoutMs = this.options.killTimeoutMs): Promise<void> {
    await Promise.all([...this.pools.values()].map((pool) => pool.close(graceMs, killTimeoutMs)));
  }

  /** Reaps orphans and starts the host bridge, then the pools, once. */
  ensureStarted(): void {
    if (this.started) return;
    this.started = true;
    if (!this.options.poolingEnabled) {
      this.logger.log('pooling is disabled: no Python worker starts');
      return;
    }
    const host = this.bridge.workerAccess();
    host.catch(() => undefined);
    const prepared = this.reapOrphans().then(async () => {
      this.registry.open();
      // A host killed from now on leaves its shared-memory directory for the next boot to remove.
      if (this.options.pools.some((pool) => Number.isFinite(pool.sharedMemory.thresholdBytes))) {
        this.registry.addPrivateDir(this.run.sharedMemory.path);
      }
      const access = await host;
      // A host killed from now on leaves its bridge's socket directory for the next boot to remove.
      if (access.socketDir) this.registry.addPrivateDir(access.socketDir);
      return access;
    });
    for (const pool of this.pools.values()) {
      pool.start(prepared).catch(() => undefined); // the failure is logged and kept by pool.ready()
    }
  }

  /** Kills what earlier runs of this instance left alive when their host died. */
  private async reapOrphans(): Promise<void> {
    const { instanceName, killTimeoutMs } = this.options;
    try {
      const report = await reapOrphans(this.registry, killTimeoutMs, (file, error) =>
        this.logger.warn(`removed an unreadable process registry file ${file}: ${error.message}`),
      );
      if (report.runs.length === 0) return;
      this.logger.warn(
        `instance "${instanceName}": ${report.runs.length} earlier run(s) ended without shutting down; ` +
          `killed ${report.killed.length} process(es) they left: ${report.killed.join(', ') || 'none'}`,
      );
      this.events.emit(SnakepitEvent.OrphansReaped, { instanceName, runs: report.runs, killed: report.killed });
    } catch (error) {
      this.logger.warn(`could not look for orphaned workers: ${(error as Error).message}`);
    }
  }

  /** The pool of that name; without a name, "default" or the only pool there is. */
  getPool(name?: string): Pool {
    this.ensureStarted();
    if (!this.options.poolingEnabled) throw new PoolingDisabledError();
    const pool = this.pools.get(name ?? this.defaultPoolName());
    if (!pool) throw new PoolNotFoundError(name ?? DEFAULT_POOL_NAME, this.poolNames());
    return pool;
  }

  /** The pool that runs this worker. */
  poolOfWorker(workerId: string): Pool {
    if (!this.options.poolingEnabled) throw new PoolingDisabledError();
    for (const pool of this.pools.values()) if (pool.hasWorker(workerId)) return pool;
    throw new WorkerNotFoundError(workerId, [...this.pools.values()].flatMap((pool) => pool.listWorkers().map((w) => w.id)));
  }

  poolNames(): string[] {
    return [...this.pools.keys()];
  }

  /** Resolves when the named pool (or every pool) is ready; rejects with the start failure. */
  async ready(name?: string): Promise<void> {
    this.ensureStarted();
    if (!this.options.poolingEnabled) return;
    const pools = name === undefined ? [...this.pools.values()] : [this.getPool(name)];
    await Promise.all(pools.map((pool) => pool.ready()));
  }

  private defaultPoolName(): string {
    return this.pools.size === 1 ? this.pools.keys().next().value! : DEFAULT_POOL_NAME;
  }
}
