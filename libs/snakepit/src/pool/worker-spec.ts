import { Logger } from '@nestjs/common';
import type { PoolConfig } from '../options/resolve-options';
import type { PythonProcessSpec, WorkerSecrets } from '../process/python-process';
import type { TemplateSpec } from '../process/worker-template';
import { bridgePaths } from '../python/bridge-paths';
import { logPythonOutput } from '../telemetry/python-output';
import { SNAKEPIT_VERSION } from '../version';

/** Everything one worker of the pool is started with. */
export function workerSpec(
  config: PoolConfig,
  workerId: string,
  runId: string,
  channel: { socketPath?: string; secrets: WorkerSecrets; sharedMemory?: PythonProcessSpec['sharedMemory'] },
  killTimeoutMs: number,
): PythonProcessSpec {
  return {
    ...pythonSide(config, runId, workerId),
    workerId,
    socketPath: channel.socketPath,
    secrets: channel.secrets,
    sharedMemory: channel.sharedMemory,
    maxMessageBytes: config.maxMessageBytes,
    concurrentCalls: config.concurrentCalls,
    // Half for the running calls, half for the adapter's on_stop, before the SIGKILL.
    shutdownGraceMs: Math.floor(killTimeoutMs / 2),
  };
}

/** What the pool's template (workers.start: 'fork') is started with. */
export function templateSpec(config: PoolConfig, runId: string): TemplateSpec {
  return { ...pythonSide(config, runId, `${config.name}-template`), pool: config.name };
}

/** What a worker and its template share: the interpreter, the adapter, the environment, and
 *  their output in the logs under `logName`. */
function pythonSide(config: PoolConfig, runId: string, logName: string): Omit<TemplateSpec, 'pool'> {
  return {
    runId,
    executable: config.pythonExecutable,
    pythonDescription: config.pythonDescription,
    adapter: config.adapter,
    pythonPath: [...(config.bridge === 'bundled' ? [bridgePaths().pythonDir] : []), ...config.pythonPath],
    env: { ...config.env },
    bridgeVersion: SNAKEPIT_VERSION,
    startupTimeoutMs: config.startupTimeoutMs,
    onOutput: logPythonOutput(new Logger(`Snakepit:${logName}`), config.pythonLogLevel),
  };
}
