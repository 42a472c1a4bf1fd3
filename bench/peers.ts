/** The baselines the pool is measured against, started and driven from Node. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { PythonShell } from 'python-shell';

const PYTHON = process.env.SNAKEPIT_PYTHON || 'python3';

export interface RawServer {
  child: ChildProcess;
  port: number;
}

/** Starts one bare grpcio echo server; resolves when it has printed its port. */
export function startRawServer(): Promise<RawServer> {
  const child = spawn(PYTHON, [join(__dirname, 'raw_echo_server.py')], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk) => {
      text += chunk;
      const match = /READY (\d+)/.exec(text);
      if (match) resolve({ child, port: Number(match[1]) });
    });
    child.once('exit', (code) => reject(new Error(`raw echo server exited with ${code}`)));
  });
}

export function stopRawServers(servers: RawServer[]): void {
  for (const server of servers) server.child.kill('SIGKILL');
}

const identity = (buffer: Buffer) => buffer;
const EchoClient = grpc.makeGenericClientConstructor(
  { Echo: { path: '/bench.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
  'Echo',
);

/** A grpc-js client of a raw echo server; `call` sends the same small JSON payload the pool sends. */
export function rawClient(port: number): { call: () => Promise<Buffer>; close: () => void } {
  const client = new EchoClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
  }) as any;
  const payload = Buffer.from(JSON.stringify({ a: 1, b: 2 }));
  return {
    call: () =>
      new Promise((resolve, reject) => client.Echo(payload, (error: Error | null, reply: Buffer) => (error ? reject(error) : resolve(reply)))),
    close: () => client.close(),
  };
}

/** python-shell over stdio JSON lines, with request ids so calls can overlap. */
export function startPythonShell(): { call: () => Promise<unknown>; close: () => void } {
  const shell = new PythonShell(join(__dirname, 'python_shell_echo.py'), { mode: 'json', pythonPath: PYTHON });
  const waiting = new Map<number, (value: unknown) => void>();
  let seq = 0;
  shell.on('message', (message: { id: number; result: unknown }) => {
    waiting.get(message.id)?.(message.result);
    waiting.delete(message.id);
  });
  return {
    call: () =>
      new Promise((resolve) => {
        const id = ++seq;
        waiting.set(id, resolve);
        shell.send({ id, args: { a: 1, b: 2 } });
      }),
    close: () => shell.kill('SIGKILL'),
  };
}
