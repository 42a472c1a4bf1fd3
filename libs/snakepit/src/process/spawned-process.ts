import type { ChildProcess } from 'node:child_process';
import type { WorkerExit } from '../errors';
import { signalGroup, terminate } from './process-killer';
import { pythonCommand, startPythonProcess, type PythonProcess, type PythonProcessSpec, type ReadyMessage } from './python-process';
import type { OutputTail } from './output-tail';
import type { WorkerLauncher, WorkerProcess } from './worker-process';

/** A worker the host spawned itself: `python -m snakepit_bridge.server`, its child. */
export class SpawnedProcess implements WorkerProcess {
  readonly pidKnown: Promise<number | undefined>;
  readonly exited: Promise<WorkerExit>;
  private readonly started: PythonProcess;

  constructor(spec: PythonProcessSpec) {
    this.started = startPythonProcess(spec);
    const child = this.started.child;
    this.pidKnown = Promise.resolve(child.pid);
    this.exited = new Promise((resolve) => {
      child.once('exit', (exitCode: number | null, signal: NodeJS.Signals | null) => resolve({ exitCode, signal }));
      // A spawn failure (ENOENT) emits 'error' and no 'exit'.
      child.once('error', () => {
        if (child.pid === undefined) resolve({ exitCode: null, signal: null });
      });
    });
  }

  get child(): ChildProcess {
    return this.started.child;
  }

  get pid(): number | undefined {
    return this.started.child.pid;
  }

  get output(): OutputTail {
    return this.started.output;
  }

  get ready(): Promise<ReadyMessage> {
    return this.started.ready;
  }

  get outputClosed(): Promise<void> {
    return this.started.outputClosed;
  }

  signal(signal: NodeJS.Signals): void {
    signalGroup(this.started.child, signal);
  }

  terminate(killTimeoutMs: number): Promise<void> {
    return terminate(this.started.child, killTimeoutMs);
  }
}

/** Spawns every worker: the default, and the fallback where forking is not available. */
export const SPAWN_LAUNCHER: WorkerLauncher = {
  mode: 'spawn',
  command: pythonCommand,
  launch: (spec) => new SpawnedProcess(spec),
  prepare: () => Promise.resolve(),
  stop: () => Promise.resolve(),
};
