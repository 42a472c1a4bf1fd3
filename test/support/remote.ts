import { Transport } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import type { INestApplication } from '@nestjs/common';
import { RemotePoolService, SnakepitRemoteModule, type RemotePoolOptions } from '@snakepit/nestjs/remote';
import { runTypeScript, type RunningChild } from './child-process';
import { silentLogger } from './app';

/** A host: the sample app in a process of its own, serving its pools on the broker (NATS_URL). */
export interface RemoteHost {
  hostId: string;
  /** Its HTTP address (the sample's routes, on its local pools). */
  url: string;
  process: RunningChild;
  /** SIGTERM and wait (graceful), or SIGKILL (a crash). */
  stop(): Promise<void>;
  kill(): Promise<void>;
}

export interface RemoteHostOptions {
  natsUrl: string;
  hostId: string;
  poolSize?: number;
  redisUrl?: string;
  env?: Record<string, string>;
}

/** Starts the sample app as a host and waits until it listens (its pools ready). */
export async function startRemoteHost(options: RemoteHostOptions): Promise<RemoteHost> {
  const process = runTypeScript('apps/sample/src/main.ts', {
    NATS_URL: options.natsUrl,
    SNAKEPIT_HOST_ID: options.hostId,
    PORT: '0',
    SNAKEPIT_POOL_SIZE: String(options.poolSize ?? 1),
    SNAKEPIT_PYTHON: global.process.env.SNAKEPIT_PYTHON || '/usr/bin/python3',
    ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}),
    ...options.env,
  });
  const line = await process.line(/Snakepit sample listening on/, 60_000);
  const url = /(http:\/\/\S+)/.exec(line)![1];
  const end = async (signal: NodeJS.Signals) => {
    if (process.child.exitCode === null && process.child.signalCode === null) process.child.kill(signal);
    await process.exited;
  };
  return { hostId: options.hostId, url, process, stop: () => end('SIGTERM'), kill: () => end('SIGKILL') };
}

/** A caller in this process: a Nest app with SnakepitRemoteModule on the broker. */
export interface RemoteCaller {
  app: INestApplication;
  remote: RemotePoolService;
  close(): Promise<void>;
}

export async function startRemoteCaller(natsUrl: string, options: RemotePoolOptions = {}, credentials?: { user: string; pass: string }): Promise<RemoteCaller> {
  const module = await Test.createTestingModule({
    imports: [SnakepitRemoteModule.forRoot({ client: { transport: Transport.NATS, options: { servers: natsUrl, maxReconnectAttempts: -1, reconnectTimeWait: 100, ...credentials } }, ...options })],
  })
    .setLogger(silentLogger)
    .compile();
  const app = module.createNestApplication({ logger: silentLogger });
  await app.init();
  const remote = app.get(RemotePoolService);
  return { app, remote, close: () => app.close() };
}

/** Waits until the caller sees every one of `hostIds`. */
export async function seesHosts(remote: RemotePoolService, hostIds: string[], timeoutMs = 20_000): Promise<void> {
  const started = Date.now();
  while (!hostIds.every((id) => remote.hosts().some((host) => host.hostId === id && host.pools.default?.status === 'ready'))) {
    if (Date.now() - started > timeoutMs) throw new Error(`the caller sees ${JSON.stringify(remote.hosts().map((h) => h.hostId))}, not ${JSON.stringify(hostIds)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
