import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port';

/** nats-server: on PATH, or where Debian's package puts it (/usr/sbin, not on every PATH). */
const NATS_SERVER = spawnSync('nats-server', ['--version'], { stdio: 'ignore' }).status === 0 ? 'nats-server' : existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : undefined;

/**
 * Whether the remote-pool tests can run: false (they are skipped, with a warning) without
 * nats-server; in CI, where set-up installs it, a missing server is a failure instead.
 */
export function natsAvailable(): boolean {
  if (!NATS_SERVER && process.env.CI) throw new Error('no nats-server, though CI runs make setup, which installs it');
  if (!NATS_SERVER) console.warn('[test] no nats-server: the remote-pool tests are skipped');
  return NATS_SERVER !== undefined;
}

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

/** `credentials`: the server asks every client for this user and password. */
export async function startNats(credentials?: { user: string; pass: string }): Promise<NatsUnderTest> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'snakepit-nats-'));
  let server: ChildProcess | undefined;

  const start = async () => {
    const child = spawn(NATS_SERVER ?? 'nats-server', ['-a', '127.0.0.1', '-p', String(port), '-P', join(dir, 'nats.pid'), '--http_port', '0', ...(credentials ? ['--user', credentials.user, '--pass', credentials.pass] : [])], {
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
