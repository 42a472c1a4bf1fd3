import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port';

/** A real nats-server for a test: on a free loopback port, with a directory of its own. */
export interface NatsUnderTest {
  port: number;
  url: string;
  /** Stops the server (SIGTERM), as an outage would; start() brings it back on the same port. */
  stop(): Promise<void>;
  /** SIGKILLs the server (a crash). */
  kill(): Promise<void>;
  start(): Promise<void>;
  /** Stops it for good and removes its directory. */
  close(): Promise<void>;
}

export async function startNats(): Promise<NatsUnderTest> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'snakepit-nats-'));
  let server: ChildProcess | undefined;

  const start = async () => {
    const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-P', join(dir, 'nats.pid'), '--http_port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server = child;
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`nats-server did not start: ${output}`)), 10_000);
      child.stderr!.on('data', (chunk) => {
        output += String(chunk);
        if (output.includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited (${code}): ${output}`));
      });
    });
  };
  const end = async (signal: NodeJS.Signals) => {
    const running = server;
    server = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill(signal);
    await exited;
  };

  await start();
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    start,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    async close() {
      await end('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
