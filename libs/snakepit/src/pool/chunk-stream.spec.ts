import { ChunkStream } from './chunk-stream';

const chunk = (index: number, final = false) => ({ data: { index }, index, final });

function controlled() {
  const log: string[] = [];
  const stream = new ChunkStream();
  stream.attach({ pause: () => log.push('pause'), resume: () => log.push('resume'), cancel: () => log.push('cancel') });
  return { stream, log };
}

describe('ChunkStream', () => {
  it('delivers chunks in order, to a waiting reader and from its buffer, then ends', async () => {
    const { stream } = controlled();
    const first = stream.next();
    stream.push(chunk(0));
    stream.push(chunk(1));
    stream.push(chunk(2, true));
    stream.end();
    expect(await first).toEqual({ value: chunk(0), done: false });
    const rest = [];
    for await (const c of stream) rest.push(c);
    expect(rest).toEqual([chunk(1), chunk(2, true)]);
  });

  it('pauses the producer when its buffer is full and resumes it once drained', async () => {
    const { stream, log } = controlled();
    for (let i = 0; i < 16; i++) stream.push(chunk(i));
    expect(log).toEqual(['pause']);
    for (let i = 0; i < 11; i++) await stream.next();
    expect(log).toEqual(['pause']);
    await stream.next();
    expect(log).toEqual(['pause', 'resume']);
  });

  it('calls idle() when a paused stream is not read for idleTimeoutMs, never while a slow reader keeps reading', async () => {
    const log: string[] = [];
    const stream = new ChunkStream(60);
    stream.attach({ pause: () => log.push('pause'), resume: () => log.push('resume'), cancel: () => log.push('cancel'), idle: () => log.push('idle') });
    for (let i = 0; i < 16; i++) stream.push(chunk(i));
    for (let i = 0; i < 8; i++) {
      await new Promise((resolve) => setTimeout(resolve, 30)); // 240 ms in all, each gap under 60
      await stream.next();
    }
    expect(log).toEqual(['pause']);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(log).toEqual(['pause', 'idle']);
    await stream.return();
  });

  it('delivers a failure after the chunks that came before it', async () => {
    const { stream } = controlled();
    stream.push(chunk(0));
    stream.fail(new Error('boom'));
    await expect(stream.next()).resolves.toEqual({ value: chunk(0), done: false });
    await expect(stream.next()).rejects.toThrow('boom');
    await expect(stream.next()).resolves.toEqual({ value: undefined, done: true });
  });

  it('tells the producer to cancel when the reader stops early, and then ignores it', async () => {
    const { stream, log } = controlled();
    stream.push(chunk(0));
    for await (const c of stream) {
      expect(c.index).toBe(0);
      break;
    }
    expect(log).toEqual(['cancel']);
    stream.push(chunk(1));
    await expect(stream.next()).resolves.toEqual({ value: undefined, done: true });
    await expect(stream.finished).resolves.toBeUndefined();
  });

  it('lets a paused producer go on when the stream fails or ends, so that its call can close', () => {
    for (const over of ['fail', 'end'] as const) {
      const { stream, log } = controlled();
      for (let i = 0; i < 16; i++) stream.push(chunk(i));
      if (over === 'fail') stream.fail(new Error('boom'));
      else stream.end();
      expect(log).toEqual(['pause', 'resume']);
    }
  });

  it('fails at once when created failed', async () => {
    await expect(ChunkStream.failed(new Error('refused')).next()).rejects.toThrow('refused');
  });
});
