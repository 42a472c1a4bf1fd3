import { rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';

/** The three connections a forked worker makes to its host: its stdin (the control connection:
 *  secrets in, handshake out, then its lifeline), its stdout and its stderr. */
export type AttachedStream = 'control' | 'stdout' | 'stderr';
export const ATTACHED_STREAMS: readonly AttachedStream[] = ['control', 'stdout', 'stderr'];

const HELLO_MAX_BYTES = 4096;
const HELLO_TIMEOUT_MS = 10_000;

/**
 * Where a pool's forked workers connect after the fork: a Unix socket in the workers' private
 * (0700) directory. Node cannot hand file descriptors to a process it did not spawn, so a
 * forked worker reaches the host this way. Each connection opens with one JSON line,
 * `{"token", "stream"}`; the token, drawn per worker and sent to the template over its private
 * control channel, says whose stream it is. Anything else is dropped.
 */
export class AttachServer {
  private readonly server: Server;
  private readonly expected = new Map<string, (stream: AttachedStream, socket: Socket) => void>();
  private listening?: Promise<void>;

  constructor(readonly path: string) {
    this.server = createServer((socket) => this.accept(socket));
    this.server.on('error', () => undefined);
  }

  /** Starts listening (once). Rejects if the socket cannot be made. */
  listen(): Promise<void> {
    this.listening ??= new Promise((resolve, reject) => {
      rmSync(this.path, { force: true });
      this.server.once('error', reject);
      this.server.listen(this.path, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.listening;
  }

  /** Routes the connections that present `token` to `onStream`, each stream once; returns
   *  the function that stops expecting them. */
  expect(token: string, onStream: (stream: AttachedStream, socket: Socket) => void): () => void {
    const seen = new Set<AttachedStream>();
    this.expected.set(token, (stream, socket) => {
      if (seen.has(stream)) return socket.destroy();
      seen.add(stream);
      if (seen.size === ATTACHED_STREAMS.length) this.expected.delete(token);
      onStream(stream, socket);
    });
    return () => this.expected.delete(token);
  }

  close(): void {
    this.expected.clear();
    this.server.close();
    rmSync(this.path, { force: true });
    this.listening = undefined;
  }

  private accept(socket: Socket): void {
    socket.on('error', () => undefined);
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), HELLO_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf(0x0a);
      if (end < 0) {
        if (received.length > HELLO_MAX_BYTES) finish(undefined);
        return;
      }
      finish(received.subarray(0, end).toString('utf8'), received.subarray(end + 1));
    };
    const finish = (line: string | undefined, rest?: Buffer) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.pause();
      const hello = parseHello(line);
      const route = hello && this.expected.get(hello.token);
      if (!hello || !route) return socket.destroy();
      if (rest?.length) socket.unshift(rest);
      route(hello.stream, socket);
    };
    socket.on('data', onData);
  }
}

function parseHello(line: string | undefined): { token: string; stream: AttachedStream } | undefined {
  if (line === undefined) return undefined;
  try {
    const parsed = JSON.parse(line);
    if (typeof parsed?.token === 'string' && ATTACHED_STREAMS.includes(parsed.stream)) return parsed;
  } catch {
    /* not a hello */
  }
  return undefined;
}
