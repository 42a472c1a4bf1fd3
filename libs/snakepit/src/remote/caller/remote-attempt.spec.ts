import { Observable } from 'rxjs';
import { directoryWith } from '../../../test-support/fake-remote-client';
import type { RemoteFrame } from '../remote-wire';
import { attempt } from './remote-attempt';
import type { RemoteClient } from './remote-client';

/** A client whose one request answers with `frames`, then stays open. */
function answering(frames: RemoteFrame[]): RemoteClient {
  return {
    connect: async () => undefined,
    request: () =>
      new Observable((subscriber) => {
        for (const frame of frames) subscriber.next(frame);
      }),
  } as unknown as RemoteClient;
}

const chunk = (index: number, final = false): RemoteFrame => ({ kind: 'chunk', index, data: String(index), final });
const end: RemoteFrame = { kind: 'end', hostId: 'host-a', load: {} };

function streamAttempt(frames: RemoteFrame[]) {
  const { directory } = directoryWith();
  const got: number[] = [];
  const ended = attempt({
    client: answering(frames),
    directory,
    hostId: 'host-a',
    subject: 'snakepit.host.host-a.call',
    request: {},
    hostLostAfterMs: 10_000,
    deadline: Date.now() + 10_000,
    onChunk: (frame) => void got.push(frame.index),
  });
  return { ended, got };
}

describe('attempt: a stream\'s chunks', () => {
  it('ends with the end frame when every chunk came, in order, the last one final', async () => {
    const { ended, got } = streamAttempt([chunk(0), chunk(1), chunk(2, true), end]);
    await expect(ended).resolves.toEqual({ kind: 'frame', frame: end });
    expect(got).toEqual([0, 1, 2]);
  });

  it('is lost, and the host told to stop, when a chunk is missing (dropped while the broker was away)', async () => {
    const { ended, got } = streamAttempt([chunk(0), chunk(1), chunk(5), chunk(6, true), end]);
    await expect(ended).resolves.toEqual({ kind: 'lost', why: 'its chunk 2 was lost on the way (chunk 5 came next)', cancel: true });
    expect(got).toEqual([0, 1]);
  });

  it('is lost when the stream ends without its final chunk (the last ones were dropped)', async () => {
    const { ended } = streamAttempt([chunk(0), chunk(1), end]);
    await expect(ended).resolves.toEqual({ kind: 'lost', why: 'the chunks after chunk 1 were lost on the way', cancel: true });
  });

  it('is lost when the end counts more chunks than came (all of them dropped)', async () => {
    const { ended } = streamAttempt([{ ...end, chunks: 3 } as RemoteFrame]);
    await expect(ended).resolves.toEqual({ kind: 'lost', why: 'chunks were lost on the way (0 came of the 3 sent)', cancel: true });
  });

  it('takes an end without chunks as it is (an empty stream)', async () => {
    await expect(streamAttempt([end]).ended).resolves.toEqual({ kind: 'frame', frame: end });
  });
});
