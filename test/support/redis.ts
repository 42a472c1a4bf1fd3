import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { freePort } from './free-port';

/** A real redis-server for a test: on a free loopback port, with a data directory of its own. */
export interface RedisUnderTest {
  port: number;
  /** A client, connected, that fails fast while the server is down (no offline queue, one retry). */
  client(): Promise<Redis>;
  /** Stops the server (SIGTERM), as an outage would; start() brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it for good: its clients disconnect and its directory goes. */
  close(): Promise<void>;
}

export async function startRedis(): Promise<RedisUnderTest> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'snakepit-redis-'));
  const clients: Redis[] = [];
  let server: ChildProcess | undefined;

  const start = async () => {
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    server = child;
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${output}`)), 10_000);
      child.stdout!.on('data', (chunk) => {
        output += String(chunk);
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${output}`)));
    });
  };
  const stop = async () => {
    const running = server;
    server = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await exited;
  };

  await start();
  return {
    port,
    async client() {
      const client = new Redis({ port, host: '127.0.0.1', enableOfflineQueue: false, maxRetriesPerRequest: 1, disconnectTimeout: 50 });
      client.on('error', () => undefined); // it reconnects by itself; operations report the failure
      clients.push(client);
      await new Promise((resolve) => client.once('ready', resolve));
      return client;
    },
    start,
    stop,
    async close() {
      for (const client of clients.splice(0)) client.disconnect();
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
