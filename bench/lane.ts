/** The lane prototype's Node side (bench only, not shipped): starts bench/lane_server.py and
 *  calls it over node:net with length-prefixed ExecuteRequest / ExecuteReply frames
 *  (uint32 LE length of the rest, uint32 LE call id, message bytes), many calls in flight. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import * as protobuf from 'protobufjs';

const PYTHON = process.env.SNAKEPIT_PYTHON || 'python3';
const HEADER_BYTES = 8;
const MAX_FRAME = 16 << 20;

const proto = protobuf.loadSync(join(__dirname, '..', 'proto', 'snakepit_bridge.proto'));
const ExecuteRequest = proto.lookupType('snakepit.bridge.ExecuteRequest');
const ExecuteReply = proto.lookupType('snakepit.bridge.ExecuteReply');

interface DecodedReply {
  result?: { json?: Buffer; binary?: Buffer };
  error?: { type: string; message: string };
}

export type LaneTransport = 'unix' | 'tcp';

export interface LaneServer {
  child: ChildProcess;
  transport: LaneTransport;
  /** A socket path, or host:port. */
  address: string;
}

export interface LaneClient {
  call(tool: string, args: Record<string, unknown>): Promise<unknown>;
  close(): void;
}

/** Starts one lane server; resolves when it has printed its address. */
export function startLaneServer(transport: LaneTransport): Promise<LaneServer> {
  const args = [join(__dirname, 'lane_server.py'), ...(transport === 'tcp' ? ['--tcp'] : [])];
  const child = spawn(PYTHON, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk) => {
      text += chunk;
      const match = /READY (\S+)/.exec(text);
      if (match) resolve({ child, transport, address: match[1] });
    });
    child.once('exit', (code) => reject(new Error(`lane server exited with ${code}`)));
  });
}

/** Closes each server's stdin (it removes its socket dir and exits); SIGKILL after 2 s. */
export async function stopLaneServers(servers: LaneServer[]): Promise<void> {
  await Promise.all(
    servers.map(({ child }) => {
      if (child.exitCode !== null || child.signalCode !== null) return undefined;
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.stdin!.end();
      });
    }),
  );
}

function connected(server: LaneServer): Promise<Socket> {
  const [host, port] = server.address.split(/:(?=\d+$)/);
  const socket = server.transport === 'tcp' ? connect({ host, port: Number(port) }) : connect({ path: server.address });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.setNoDelay(true); // TCP only; a no-op on a Unix socket
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

function encodeFrame(callId: number, tool: string, args: Record<string, unknown>): Buffer {
  const body = ExecuteRequest.encode({ tool, args: { json: Buffer.from(JSON.stringify(args)) }, requestId: randomUUID() }).finish();
  const frame = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  frame.writeUInt32LE(body.length + 4, 0);
  frame.writeUInt32LE(callId, 4);
  frame.set(body, HEADER_BYTES);
  return frame;
}

function outcome(body: Buffer): { value?: unknown; error?: Error } {
  const reply = ExecuteReply.decode(body) as unknown as DecodedReply;
  if (reply.error) return { error: new Error(`${reply.error.type}: ${reply.error.message}`) };
  if (reply.result?.json) return { value: JSON.parse(reply.result.json.toString('utf8')) };
  return { value: reply.result?.binary };
}

/** One connection to a lane server. Frames written in one tick go out in one write. */
export async function laneClient(server: LaneServer): Promise<LaneClient> {
  const socket = await connected(server);
  const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let lastId = 0;
  let corked = false;
  let unread: Buffer | undefined;
  const failAll = (error: Error) => {
    for (const call of waiting.values()) call.reject(error);
    waiting.clear();
  };
  socket.on('data', (chunk: Buffer) => {
    const data = unread ? Buffer.concat([unread, chunk]) : chunk;
    let offset = 0;
    while (data.length - offset >= HEADER_BYTES) {
      const length = data.readUInt32LE(offset);
      if (length < 4 || length > MAX_FRAME) return void socket.destroy(new Error(`lane: bad frame length ${length}`));
      const end = offset + 4 + length;
      if (end > data.length) break;
      const call = waiting.get(data.readUInt32LE(offset + 4));
      if (call) {
        waiting.delete(data.readUInt32LE(offset + 4));
        const { value, error } = outcome(data.subarray(offset + HEADER_BYTES, end));
        if (error) call.reject(error);
        else call.resolve(value);
      }
      offset = end;
    }
    unread = offset < data.length ? data.subarray(offset) : undefined;
  });
  socket.on('error', failAll);
  socket.on('close', () => failAll(new Error('lane: connection closed')));
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  return {
    call(tool, args) {
      lastId = (lastId + 1) >>> 0;
      const frame = encodeFrame(lastId, tool, args);
      if (!corked) {
        corked = true;
        socket.cork();
        process.nextTick(uncork);
      }
      socket.write(frame);
      const callId = lastId;
      return new Promise((resolve, reject) => waiting.set(callId, { resolve, reject }));
    },
    close: () => socket.end(),
  };
}
