import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type { WireHostFrame, WireWorkerFrame, WorkerChannelCall } from './wire';
import { STREAM_CREDIT, WorkerChannel, type ChannelStream } from './worker-channel';

/** The gRPC call under the channel, as a unit test drives it: what the host wrote, and the worker's side. */
class FakeCall extends EventEmitter {
  readonly written: WireHostFrame[][] = [];
  cancelled = false;

  write(message: { frames: WireHostFrame[] }): boolean {
    this.written.push(message.frames);
    return true;
  }

  cancel(): void {
    this.cancelled = true;
  }

  reply(...frames: WireWorkerFrame[]): void {
    this.emit('data', { frames });
  }
}

const turn = () => new Promise((resolve) => setImmediate(resolve));
const channelMethod = (protoLoader.loadSync(join(__dirname, '..', '..', '..', '..', 'proto', 'snakepit_bridge.proto'), { longs: Number, defaults: true, oneofs: true })['snakepit.bridge.Worker'] as any).Channel;
const encodedHostFrames = (frames: WireHostFrame[]) => (channelMethod.requestSerialize({ frames }) as Buffer).length;
const request = (id: string) => ({ tool: 'add', args: { json: Buffer.from('{}'), buffers: [], tags: 0 }, requestId: id, sessionId: '' });
const ok = { outcome: 'result' as const, result: { json: Buffer.from('1'), buffers: [], tags: 0 } };
const chunk = (final = false) => ({ payload: 'data' as const, data: { json: Buffer.from('1'), buffers: [], tags: 0 }, final, cancelled: false });

function setUp(maxMessageBytes = 1024 * 1024) {
  const call = new FakeCall();
  const broken: grpc.ServiceError[] = [];
  const channel = new WorkerChannel(() => call as unknown as WorkerChannelCall, maxMessageBytes, (error) => broken.push(error));
  return { call, channel, broken };
}

describe('WorkerChannel', () => {
  it('sends the calls of one turn in one message and answers each by its call number', async () => {
    const { call, channel } = setUp();
    const first = channel.execute(request('a'));
    const second = channel.execute(request('b'));
    await turn();
    expect(call.written).toHaveLength(1);
    const [frameA, frameB] = call.written[0];
    expect([frameA.execute?.requestId, frameB.execute?.requestId]).toEqual(['a', 'b']);
    expect(frameA.call).not.toBe(frameB.call);
    call.reply({ call: frameB.call, body: 'reply', reply: { outcome: 'error', error: { type: 'ValueError', message: 'm', traceback: '', detailsJson: Buffer.alloc(0) } } });
    call.reply({ call: frameA.call, body: 'reply', reply: ok });
    expect((await first).outcome).toBe('result');
    expect((await second).error?.type).toBe('ValueError');
  });

  it('splits a turn whose frames would pass the message limit, as the real encoding measures them', async () => {
    const limit = 1000;
    const { call, channel } = setUp(limit);
    const long = { sessionId: 's'.repeat(128), traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`, tracestate: 'k=v' };
    for (const id of ['a', 'b', 'c']) void channel.execute({ ...request(id.repeat(36)), ...long, args: { json: Buffer.alloc(200), buffers: [], tags: 0 } });
    await turn();
    expect(call.written.length).toBeGreaterThan(1);
    expect(call.written.flat()).toHaveLength(3);
    for (const frames of call.written) expect(encodedHostFrames(frames)).toBeLessThanOrEqual(limit);
  });

  it('starts a stream with credit for one chunk, keeps 16 small ones granted while its consumer reads, none while paused', async () => {
    const { call, channel } = setUp();
    const stream = channel.openStream(request('s'));
    const got: unknown[] = [];
    stream.on('data', (c) => got.push(c));
    await turn();
    const opened = call.written[0][0];
    expect(opened.stream?.credit).toBe(1);
    call.reply({ call: opened.call, body: 'chunk', chunk: chunk() });
    await turn();
    expect(call.written[1]).toEqual([{ call: opened.call, credit: STREAM_CREDIT }]);
    call.reply({ call: opened.call, body: 'chunk', chunk: chunk() }, { call: opened.call, body: 'chunk', chunk: chunk() });
    await turn();
    expect(call.written[2]).toEqual([{ call: opened.call, credit: 2 }]);
    stream.pause();
    call.reply({ call: opened.call, body: 'chunk', chunk: chunk() });
    await turn();
    expect(call.written).toHaveLength(3);
    expect(got).toHaveLength(3); // held while paused
    stream.resume();
    await turn();
    expect(got).toHaveLength(4);
    expect(call.written[3]).toEqual([{ call: opened.call, credit: 1 }]);
  });

  it('gives a stream of big chunks less credit, so that bytes in flight stay bounded', async () => {
    const { call, channel } = setUp();
    const stream = channel.openStream(request('s'));
    stream.on('data', () => undefined);
    await turn();
    const { call: number } = call.written[0][0];
    const big = { ...chunk(), data: { json: Buffer.from('1'), buffers: [{ inline: Buffer.alloc(4 * 1024 * 1024 - 1) }], tags: 1 } }; // 4 MiB with its JSON
    for (let round = 1; round <= 3; round++) {
      call.reply(...Array.from({ length: round === 1 ? 1 : 2 }, () => ({ call: number, body: 'chunk' as const, chunk: big })));
      await turn();
      // 8 MiB of 4 MiB chunks: never more than two on their way.
      expect(call.written[round]).toEqual([{ call: number, credit: 2 }]);
    }
  });

  it('closes a stream after its final chunk, and cancels it by request id while it runs', async () => {
    const { call, channel } = setUp();
    const stream: ChannelStream = channel.openStream(request('s'));
    const closed = new Promise((resolve) => stream.once('close', resolve));
    await turn();
    const { call: number } = call.written[0][0];
    channel.cancel('s');
    channel.cancel('unknown');
    await turn();
    expect(call.written[1]).toEqual([{ call: number, cancel: true }]);
    call.reply({ call: number, body: 'chunk', chunk: { ...chunk(true), payload: undefined, data: undefined, cancelled: true } });
    await closed;
    channel.cancel('s'); // over: nothing more is sent
    await turn();
    expect(call.written).toHaveLength(2);
  });

  it('fails every call on it, once, when the stream fails, and refuses calls after', async () => {
    const { call, channel, broken } = setUp();
    const unary = channel.execute(request('a'));
    const stream = channel.openStream(request('s'));
    const streamErrors: grpc.ServiceError[] = [];
    stream.on('error', (e) => streamErrors.push(e));
    const ping = channel.ping(10_000);
    const failure = Object.assign(new Error('14 UNAVAILABLE: gone'), { code: grpc.status.UNAVAILABLE, details: 'gone', metadata: new grpc.Metadata() });
    call.emit('error', failure);
    call.emit('status', { code: grpc.status.UNAVAILABLE, details: 'gone', metadata: new grpc.Metadata() });
    await expect(unary).rejects.toBe(failure);
    await expect(ping).rejects.toBe(failure);
    expect(streamErrors).toEqual([failure]);
    expect(broken).toEqual([failure]);
    await expect(channel.execute(request('b'))).rejects.toBe(failure);
  });

  it('takes a worker that ends its channel, or answers a call that expects nothing, as broken', async () => {
    const ended = setUp();
    ended.call.emit('status', { code: grpc.status.OK, details: '', metadata: new grpc.Metadata() });
    expect(ended.broken.map((e) => e.code)).toEqual([grpc.status.UNAVAILABLE]);

    const garbled = setUp();
    const unary = garbled.channel.execute(request('a'));
    await turn();
    garbled.call.reply({ call: garbled.call.written[0][0].call, body: 'chunk', chunk: chunk() });
    await expect(unary).rejects.toMatchObject({ code: grpc.status.INTERNAL });
    expect(garbled.broken).toHaveLength(1);
  });

  it('does not report a close by the host as a fault', async () => {
    const { call, channel, broken } = setUp();
    const unary = channel.execute(request('a'));
    channel.close('the worker exited');
    await expect(unary).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE, details: 'the worker exited' });
    expect(call.cancelled).toBe(true);
    expect(broken).toEqual([]);
  });

  it('times out a ping that gets no pong, and ignores the late pong', async () => {
    const { call, channel, broken } = setUp();
    await expect(channel.ping(5)).rejects.toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
    call.reply({ call: call.written[0][0].call, body: 'pong', pong: { pid: 1, inFlight: 0 } });
    const answered = channel.ping(10_000);
    await turn();
    call.reply({ call: call.written[1][0].call, body: 'pong', pong: { pid: 1, inFlight: 0 } });
    await expect(answered).resolves.toBeUndefined();
    expect(broken).toEqual([]);
  });
});
