import type { Logger } from '@nestjs/common';
import { describeExit } from '../errors';
import type { WorkerRegistry } from './process-registry';
import { pythonCommand, type PythonProcessSpec } from './python-process';
import { SpawnedProcess } from './spawned-process';
import { AttachServer } from './template-attach';
import type { WorkerLauncher, WorkerProcess } from './worker-process';
import { WorkerTemplate, type TemplateSpec } from './worker-template';

/** A template that dies this often within TEMPLATE_DEATH_WINDOW_MS is given up: workers are spawned. */
const MAX_TEMPLATE_DEATHS = 3;
const TEMPLATE_DEATH_WINDOW_MS = 60_000;

export interface ForkLauncherOptions {
  template: TemplateSpec;
  registry: WorkerRegistry;
  /** The attach socket's path, in the workers' private directory. */
  attachPath: () => string;
  logger: Pick<Logger, 'log' | 'warn'>;
}

/**
 * Forks a pool's workers from its template (`workers.start: 'fork'`). The template starts with
 * the pool; one that dies is started again at once, and the workers it forked live on. While
 * no template can fork (it is starting again, or could not start), workers are spawned, so the
 * pool never waits for a template: a template that cannot start, or keeps dying, leaves the
 * pool spawning, with a warning, until the pool starts again.
 */
export class ForkLauncher implements WorkerLauncher {
  private template?: WorkerTemplate;
  private attach?: AttachServer;
  private seq = 0;
  private deaths: number[] = [];
  private given = false;
  private active = false;

  constructor(private readonly options: ForkLauncherOptions) {}

  get mode(): 'fork' | 'spawn' {
    return this.template?.canFork ? 'fork' : 'spawn';
  }

  command(spec: PythonProcessSpec): string[] {
    return this.template?.canFork ? this.template.command : pythonCommand(spec);
  }

  launch(spec: PythonProcessSpec): WorkerProcess {
    return this.template?.canFork ? this.template.fork(spec) : new SpawnedProcess(spec);
  }

  /** At the pool's start: the template is started (unless one serves) and awaited. Never
   *  rejects: a template that cannot start leaves the pool spawning. */
  async prepare(): Promise<void> {
    this.active = true;
    this.given = false;
    this.deaths = [];
    if (this.template?.canFork) return;
    await this.startTemplate();
  }

  /** At the pool's stop, once its workers are gone: the template goes too. */
  async stop(killTimeoutMs: number): Promise<void> {
    this.active = false;
    // Taken now: a pool that starts again meanwhile gets a template and an attach socket of its own.
    const { template, attach } = this;
    this.template = undefined;
    this.attach = undefined;
    await template?.stop(killTimeoutMs);
    attach?.close();
  }

  private async startTemplate(): Promise<void> {
    const { registry, logger, template: spec } = this.options;
    try {
      this.attach ??= new AttachServer(this.options.attachPath());
      await this.attach.listen();
    } catch (error) {
      return this.giveUp(`the worker template's attach socket could not listen: ${(error as Error).message}`);
    }
    if (!this.active) return;
    const id = `${spec.pool}-template-${++this.seq}`;
    const template = new WorkerTemplate(spec, this.attach);
    registry.reserve(id, template.command);
    registry.bind(id, template.pid);
    this.template = template;
    void template.exited.then((exit) => {
      registry.forget(id);
      if (this.template !== template) return;
      this.template = undefined;
      if (!this.active || this.given) return;
      const now = Date.now();
      this.deaths = [...this.deaths.filter((at) => now - at < TEMPLATE_DEATH_WINDOW_MS), now];
      if (this.deaths.length >= MAX_TEMPLATE_DEATHS) {
        return this.giveUp(`the worker template died ${this.deaths.length} times within ${TEMPLATE_DEATH_WINDOW_MS} ms (last: ${describeExit(exit)})`);
      }
      logger.warn(`the worker template (pid ${template.pid}) ${describeExit(exit)}; starting it again (its workers serve on; replacements are spawned meanwhile)`);
      void this.startTemplate();
    });
    try {
      await template.ready;
      logger.log(`worker template ready (pid ${template.pid}): workers are forked from it`);
    } catch (error) {
      if (this.template === template) this.template = undefined;
      template.kill();
      // A pool that stops while its template starts has nothing to fall back from.
      if (this.active) this.giveUp((error as Error).message);
    }
  }

  private giveUp(reason: string): void {
    if (this.given) return;
    this.given = true;
    this.options.logger.warn(`${reason.split('\nLast output:')[0]}; the pool spawns its workers instead (workers.start: 'spawn' says so without trying)`);
  }
}
