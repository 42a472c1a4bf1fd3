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
  channel: { socketPath?: string; secrets: WorkerSecrets },
  killTimeoutMs: number,
): PythonProcessSpec {
  return {
    workerId,
    runId,
    executable: config.pythonExecutable,
    pythonDescription: config.pythonDescription,
    adapter: config.adapter,
    pythonPath: [...(config.bridge === 'bundled' ? [bridgePaths().pythonDir] : []), ...config.pythonPath],
    env: { ...config.env },
    socketPath: channel.socketPath,
    secrets: channel.secrets,
    maxMessageBytes: config.maxMessageBytes,
    startupTimeoutMs: config.startupTimeoutMs,
    concurrentCalls: config.concurrentCalls,
    bridgeVersion: SNAKEPIT_VERSION,
    // Half for the running calls, half for the adapter's on_stop, before the SIGKILL.
    shutdownGraceMs: Math.floor(killTimeoutMs / 2),
    onOutput: logPythonOutput(new Logger(`Snakepit:${workerId}`), config.pythonLogLevel),
  };
}

/** What the pool's template (workers.start: 'fork') is started with. */
export function templateSpec(config: PoolConfig, runId: string): TemplateSpec {
  return {
    pool: config.name,
    runId,
    executable: config.pythonExecutable,
    pythonDescription: config.pythonDescription,
    adapter: config.adapter,
    pythonPath: [...(config.bridge === 'bundled' ? [bridgePaths().pythonDir] : []), ...config.pythonPath],
    env: { ...config.env },
    bridgeVersion: SNAKEPIT_VERSION,
    startupTimeoutMs: config.startupTimeoutMs,
    onOutput: logPythonOutput(new Logger(`Snakepit:${config.name}-template`), config.pythonLogLevel),
  };
}
