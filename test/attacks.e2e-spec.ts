/**
 * A stranger on the same machine against a real app: every attack runs as another user
 * (`runuser -u nobody`), with grpcio and nothing of ours but the addresses it could find.
 * Root is needed to switch users; as anyone else this suite fails and says so.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostBridgeServer } from '../libs/snakepit/src/bridge/host-bridge.server';
import { randomBytes } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { Transport } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { SnakepitModule } from '@snakepit/nestjs';
import { SnakepitHostModule } from '@snakepit/nestjs/remote';
import { bootApp, SHOWCASE, silentLogger, type TestApp } from './support/app';
import { natsAvailable, startNats, type NatsUnderTest } from './support/nats';
import { seesHosts, startRemoteCaller } from './support/remote';

/** The Debian interpreter with python3-grpcio: readable by every user, unlike a venv in a home. */
const SYSTEM_PYTHON = '/usr/bin/python3';
const run = promisify(execFile);
const WORKER_EXECUTE = '/snakepit.bridge.Worker/Execute';
const WORKER_CANCEL = '/snakepit.bridge.Worker/Cancel';
const HOST_SET_STATE = '/snakepit.bridge.Host/SetState';
const HOST_LIST_TOOLS = '/snakepit.bridge.Host/ListTools';

let scratch: string;
let attacker: string;

beforeAll(() => {
  if (process.getuid?.() !== 0) throw new Error('the attack tests switch to the user nobody: run them as root (as CI does)');
  scratch = mkdtempSync(join(tmpdir(), 'snakepit-attacker-'));
  chmodSync(scratch, 0o755);
  attacker = join(scratch, 'attacker.py');
  copyFileSync(join(__dirname, 'fixtures', 'attacker.py'), attacker);
  chmodSync(attacker, 0o644);
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs the attacker script as nobody; its JSON answer. Asynchronously: the host bridge it
 *  attacks is served by this very process. */
async function asNobody(...args: string[]): Promise<any> {
  const { stdout } = await run('/usr/sbin/runuser', ['-u', 'nobody', '--', SYSTEM_PYTHON, attacker, ...args], {
    cwd: scratch,
    encoding: 'utf8',
    timeout: 120_000,
    env: { PATH: '/usr/bin:/bin' },
  });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

/** A worker's listening address, as any local user sees it: its socket path on its command line,
 *  or its TCP port in `ss`. */
function workerAddress(pid: number, transport: 'unix' | 'tcp'): string {
  if (transport === 'unix') {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return args[args.indexOf('--socket') + 1];
  }
  const listening = execFileSync('ss', ['-ltnpH'], { encoding: 'utf8' }).split('\n').find((line) => line.includes(`pid=${pid},`));
  return listening!.trim().split(/\s+/)[3].replace(/^\[::ffff:(.*)\]/, '$1');
}

function rssBytes(pid: number): number {
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
}

describe('another local user, against the default (Unix socket) transport', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await bootApp({ poolSize: 1 });
    await app.pool.ready();
  });
  afterAll(() => app?.close());

  it('cannot even connect to a worker or to the host bridge', async () => {
    const worker = workerAddress(app.pool.listWorkers()[0].pid!, 'unix');
    const bridge = (await app.module.get(HostBridgeServer).workerAccess()).address.replace(/^unix:/, '');
    expect(await asNobody('connect', worker)).toEqual({ connected: false, error: 'PermissionError' });
    expect(await asNobody('connect', bridge)).toEqual({ connected: false, error: 'PermissionError' });
    expect((await asNobody('call', `unix:${worker}`, WORKER_EXECUTE)).code).not.toBe('OK');
    expect(await app.pool.execute('add', { a: 1, b: 2 })).toBe(3);
  });

  it('can neither list nor read the shared-memory segments, whose names are guessable', async () => {
    const shared = await app.pool.share(new Float32Array(1 << 20).fill(7));
    const dir = app.pool.stats().sharedMemory.directory!;
    const names = readdirSync(dir);
    expect(names.length).toBeGreaterThan(0);
    expect(await asNobody('peek', dir, ...names)).toEqual({ list: 'PermissionError', read: names.map(() => 'PermissionError') });
    await expect(app.pool.execute('array_sum', { data: shared })).resolves.toBe(7 * (1 << 20));
    await shared.close();
  });
});

describe('another local user, against TCP transports', () => {
  let app: TestApp;
  let worker: { pid: number; address: string };
  let bridge: string;
  beforeAll(async () => {
    app = await bootApp({ poolSize: 1, workers: { transport: 'tcp' }, bridge: { transport: 'tcp' } });
    await app.pool.ready();
    const pid = app.pool.listWorkers()[0].pid!;
    worker = { pid, address: workerAddress(pid, 'tcp') };
    bridge = (await app.module.get(HostBridgeServer).workerAccess()).address;
  });
  afterAll(() => app?.close());

  it('is refused by the worker without its secret, or with a wrong one: no call, no cancel', async () => {
    expect(worker.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(await asNobody('call', worker.address, WORKER_EXECUTE)).toEqual({ code: 'UNAUTHENTICATED' });
    expect(await asNobody('call', worker.address, WORKER_EXECUTE, `x-snakepit-worker-secret=${'0'.repeat(64)}`)).toEqual({ code: 'UNAUTHENTICATED' });
    expect(await asNobody('call', worker.address, WORKER_CANCEL)).toEqual({ code: 'UNAUTHENTICATED' });
    expect(app.pool.stats().requests).toBe(0);
    expect(await app.pool.execute('add', { a: 1, b: 2 })).toBe(3);
  });

  it('is refused by the host bridge without its secret: no session state, no host tools', async () => {
    expect(await asNobody('call', bridge, HOST_SET_STATE)).toEqual({ code: 'UNAUTHENTICATED' });
    expect(await asNobody('call', bridge, HOST_LIST_TOOLS)).toEqual({ code: 'UNAUTHENTICATED' });
  });

  it('cannot make the host or a worker take in large messages it refuses', async () => {
    // 12 calls of 60 MiB each (720 MiB) at each end, none with a secret.
    const hostBefore = process.memoryUsage().rss;
    const workerBefore = rssBytes(worker.pid);
    expect((await asNobody('flood', bridge, HOST_SET_STATE, '12', '60')).codes).toEqual(Array(12).fill('UNAUTHENTICATED'));
    expect((await asNobody('flood', worker.address, WORKER_EXECUTE, '12', '60')).codes).toEqual(Array(12).fill('UNAUTHENTICATED'));
    const hostGrowth = process.memoryUsage().rss - hostBefore;
    const workerGrowth = rssBytes(worker.pid) - workerBefore;
    // Refused on their metadata, the messages are never read: growth stays far below one of them.
    expect(hostGrowth).toBeLessThan(60 * 1024 * 1024);
    expect(workerGrowth).toBeLessThan(60 * 1024 * 1024);
    expect(await app.pool.execute('add', { a: 2, b: 2 })).toBe(4);
  });
});

(natsAvailable() ? describe : describe.skip)('another local user, against remote pools on a broker that asks for credentials', () => {
  const credentials = { user: 'snakepit', pass: randomBytes(18).toString('base64url') };
  let nats: NatsUnderTest;
  let host: INestApplication;

  beforeAll(async () => {
    nats = await startNats(credentials);
    const module = await Test.createTestingModule({ imports: [SnakepitModule.forRoot({ adapter: SHOWCASE, poolSize: 1 }), SnakepitHostModule.forRoot({ hostId: 'guarded' })] })
      .setLogger(silentLogger)
      .compile();
    host = module.createNestApplication({ logger: silentLogger });
    host.connectMicroservice({ transport: Transport.NATS, options: { servers: nats.url, ...credentials } });
    await host.startAllMicroservices();
    await host.init();
  }, 60_000);
  afterAll(async () => {
    await host?.close();
    await nats?.close();
  });

  it('gets no roll call and no call without the credentials, or with wrong ones, while the app\'s own caller is served', async () => {
    const caller = await startRemoteCaller(nats.url, {}, credentials);
    try {
      await seesHosts(caller.remote, ['guarded']);
      expect(await caller.remote.execute('add', { a: 2, b: 3 })).toBe(5);
    } finally {
      await caller.close();
    }
    for (const subject of ['snakepit.roll-call', 'snakepit.host.guarded.call']) {
      const without = await asNobody('nats', String(nats.port), subject);
      const wrong = await asNobody('nats', String(nats.port), subject, credentials.user, 'not-the-password');
      for (const answer of [without, wrong]) {
        expect(answer.lines.join(' ')).toMatch(/-ERR 'Authorization Violation'/);
        expect(answer.lines.some((line: string) => line.startsWith('MSG'))).toBe(false); // no answer from the host
      }
    }
    // The same probe with the credentials is answered: the refusals above are the broker's doing.
    const allowed = await asNobody('nats', String(nats.port), 'snakepit.roll-call', credentials.user, credentials.pass);
    expect(allowed.lines.some((line: string) => line.startsWith('MSG _INBOX.attacker'))).toBe(true);
  }, 60_000);
});
