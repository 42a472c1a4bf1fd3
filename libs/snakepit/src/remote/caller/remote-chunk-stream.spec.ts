import type { StreamChunk } from '../../pool/chunk-stream';
import { RemoteChunkStream } from './remote-chunk-stream';

const chunk = (index: number, final = false): StreamChunk<number> => ({ data: index * 10, index, final });

/** A stream with its credit and cancels recorded. */
function stream(window: number) {
  const s = new RemoteChunkStream<number>(window);
  const credits: number[] = [];
  let cancels = 0;
  s.onCredit = (n) => credits.push(n);
  s.onCancel = () => cancels++;
  return { s, credits, cancels: () => cancels };
}

describe('RemoteChunkStream', () => {
  it('delivers chunks in order, buffered or awaited', async () => {
    const { s } = stream(8);
    s.push(chunk(0));
    s.push(chunk(1));
    const third = s.next();
    const fourth = s.next();
    expect(s.buffered).toBe(0);
    s.push(chunk(2));
    s.push(chunk(3, true));
    s.end();
    const seen: number[] = [];
    expect((await third).value).toEqual(chunk(0));
    expect((await fourth).value).toEqual(chunk(1));
    for await (const c of s) seen.push(c.index);
    expect(seen).toEqual([2, 3]);
    expect(await s.next()).toEqual({ value: undefined, done: true });
  });

  it('gives credit for half a window each time the reader has taken that many', async () => {
    const { s, credits } = stream(8);
    for (let i = 0; i < 8; i++) s.push(chunk(i));
    for (let i = 0; i < 3; i++) await s.next();
    expect(credits).toEqual([]);
    await s.next();
    expect(credits).toEqual([4]);
    for (let i = 0; i < 4; i++) await s.next();
    expect(credits).toEqual([4, 4]);
  });

  it('counts chunks handed straight to a waiting reader as taken', async () => {
    const { s, credits } = stream(4);
    const reads = [s.next(), s.next()];
    s.push(chunk(0));
    s.push(chunk(1));
    await Promise.all(reads);
    expect(credits).toEqual([2]);
  });

  it('gives credit for every chunk with a window of 1 (and of 2 or 3)', async () => {
    for (const window of [1, 2, 3]) {
      const { s, credits } = stream(window);
      s.push(chunk(0));
      await s.next();
      s.push(chunk(1));
      await s.next();
      expect(credits).toEqual([1, 1]);
    }
  });

  it('never buffers more than the window when the producer respects credit', async () => {
    const window = 6;
    const { s } = stream(window);
    let credit = window;
    let sent = 0;
    const total = 100;
    let maxBuffered = 0;
    const produce = () => {
      while (credit > 0 && sent < total) {
        credit--;
        s.push(chunk(sent++, sent === total));
        maxBuffered = Math.max(maxBuffered, s.buffered);
      }
      if (sent === total) s.end();
    };
    s.onCredit = (n) => {
      credit += n;
      // The host sends what the new credit allows, a little later.
      setImmediate(produce);
    };
    produce();
    const seen: number[] = [];
    for await (const c of s) {
      seen.push(c.index);
      // A slow reader: the producer runs ahead as far as its credit lets it.
      if (c.index % 7 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(seen).toEqual(Array.from({ length: total }, (_, i) => i));
    expect(maxBuffered).toBeLessThanOrEqual(window);
    expect(maxBuffered).toBeGreaterThan(0);
  });

  it('refuses a chunk beyond the window (a host that ignores credit)', async () => {
    const { s } = stream(2);
    s.push(chunk(0));
    s.push(chunk(1));
    expect(() => s.push(chunk(2))).toThrow(/more than the window of 2/);
    await s.next();
    expect(() => s.push(chunk(2))).not.toThrow();
    expect(s.buffered).toBe(2);
  });

  it('cancels once on return() (breaking out of the loop) and ends', async () => {
    const { s, cancels } = stream(4);
    s.push(chunk(0));
    s.push(chunk(1));
    for await (const c of s) {
      expect(c.index).toBe(0);
      break;
    }
    expect(cancels()).toBe(1);
    expect(s.buffered).toBe(0);
    expect(await s.return()).toEqual({ value: undefined, done: true });
    expect(cancels()).toBe(1);
    s.push(chunk(2));
    expect(s.buffered).toBe(0);
    expect(await s.next()).toEqual({ value: undefined, done: true });
  });

  it('does not cancel a stream that has ended already', async () => {
    const { s, cancels } = stream(4);
    s.push(chunk(0, true));
    s.end();
    await s.return();
    expect(cancels()).toBe(0);
  });

  it('ends the reads waiting when return() is called', async () => {
    const { s, cancels } = stream(4);
    const waiting = s.next();
    await s.return();
    await expect(waiting).resolves.toEqual({ value: undefined, done: true });
    expect(cancels()).toBe(1);
  });

  it('throw() cancels and rejects with the error given', async () => {
    const { s, cancels } = stream(4);
    const error = new Error('reader gave up');
    await expect(s.throw(error)).rejects.toBe(error);
    expect(cancels()).toBe(1);
  });

  it('delivers the chunks that came before a failure, then the error, then the end', async () => {
    const { s } = stream(8);
    const error = new Error('host failed');
    s.push(chunk(0));
    s.push(chunk(1));
    s.fail(error);
    await expect(s.next()).resolves.toEqual({ value: chunk(0), done: false });
    await expect(s.next()).resolves.toEqual({ value: chunk(1), done: false });
    await expect(s.next()).rejects.toBe(error);
    await expect(s.next()).resolves.toEqual({ value: undefined, done: true });
  });

  it('fails a waiting reader at once, and ends the others waiting', async () => {
    const { s, cancels } = stream(8);
    const first = s.next();
    const second = s.next();
    const error = new Error('host failed');
    s.fail(error);
    await expect(first).rejects.toBe(error);
    await expect(second).resolves.toEqual({ value: undefined, done: true });
    s.push(chunk(0));
    expect(s.buffered).toBe(0);
    await s.return();
    expect(cancels()).toBe(0);
  });

  it('a for-await loop sees the chunks, then throws the failure', async () => {
    const { s } = stream(8);
    const error = new Error('boom');
    s.push(chunk(0));
    s.fail(error);
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const c of s) seen.push(c.index);
      })(),
    ).rejects.toBe(error);
    expect(seen).toEqual([0]);
  });

  it('ignores a failure after the end', async () => {
    const { s } = stream(8);
    s.push(chunk(0, true));
    s.end();
    s.fail(new Error('late'));
    await expect(s.next()).resolves.toEqual({ value: chunk(0, true), done: false });
    await expect(s.next()).resolves.toEqual({ value: undefined, done: true });
  });
});
