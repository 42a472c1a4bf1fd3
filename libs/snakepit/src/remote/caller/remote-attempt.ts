import type { Subscription } from 'rxjs';
import { isRemoteFrame, type RemoteFrame } from '../remote-wire';
import type { HostDirectory } from './host-directory';
import { isNoResponders, type RemoteClient, type TraceHeaders } from './remote-client';

/** How one request to one host ended. Only `frame`, `lost`, `timeout` and `aborted` may have
 *  let it run there; `unreachable` and `broker-down` mean it never arrived. */
export type AttemptEnd =
  | { kind: 'frame'; frame: Exclude<RemoteFrame, { kind: 'alive' } | { kind: 'chunk' }> }
  | { kind: 'unreachable' }
  | { kind: 'broker-down'; error: unknown }
  | { kind: 'lost'; why: string; /** The host may still run it: tell it to stop. */ cancel?: true }
  | { kind: 'timeout' }
  | { kind: 'aborted'; reason: unknown }
  | { kind: 'malformed'; detail: string };

export interface AttemptInit {
  client: RemoteClient;
  directory: HostDirectory;
  hostId: string;
  subject: string;
  request: Record<string, unknown>;
  trace?: TraceHeaders;
  hostLostAfterMs: number;
  deadline: number;
  signal?: AbortSignal;
  /** Chunks of a stream, as they come. */
  onChunk?: (frame: Extract<RemoteFrame, { kind: 'chunk' }>) => void;
}

/**
 * Sends one request to one host and waits for its end: the first frame that is not `alive` or a
 * chunk, or silence for hostLostAfterMs, or the host dropped from the directory, the deadline
 * or the signal. Nothing is retried here.
 */
export async function attempt(init: AttemptInit): Promise<AttemptEnd> {
  try {
    await init.client.connect();
  } catch (error) {
    return { kind: 'broker-down', error };
  }
  return new Promise<AttemptEnd>((resolve) => {
    let done = false;
    let subscription: Subscription | undefined;
    const finish = (end: AttemptEnd) => {
      if (done) return;
      done = true;
      clearTimeout(silence);
      clearTimeout(halfway);
      clearTimeout(deadline);
      stopLost();
      init.signal?.removeEventListener('abort', onAbort);
      subscription?.unsubscribe();
      resolve(end);
    };
    const lostAfter = () => finish({ kind: 'lost', why: `it sent nothing for ${init.hostLostAfterMs} ms` });
    // Halfway through the silence, the host is asked whether it is there: a host whose process
    // died is known at once (the broker has no subscriber for it), not after all of it.
    const probe = () => void init.directory.probe(init.hostId);
    // A stream's chunks come 0, 1, 2, … and the last one is final: what the host sent while a
    // connection to the broker was down is dropped (not sent later), and a stream must not look
    // whole with chunks missing.
    let nextIndex = 0;
    let lastFinal = true;
    let silence = setTimeout(lostAfter, init.hostLostAfterMs);
    let halfway = setTimeout(probe, init.hostLostAfterMs / 2);
    const deadline = setTimeout(() => finish({ kind: 'timeout' }), Math.max(0, init.deadline - Date.now()));
    const stopLost = init.directory.onLost(init.hostId, (why) => finish({ kind: 'lost', why }));
    const onAbort = () => finish({ kind: 'aborted', reason: init.signal?.reason });
    init.signal?.addEventListener('abort', onAbort, { once: true });
    subscription = init.client.request<unknown>(init.subject, init.request, init.trace).subscribe({
      next: (frame) => {
        if (done) return;
        clearTimeout(silence);
        clearTimeout(halfway);
        silence = setTimeout(lostAfter, init.hostLostAfterMs);
        halfway = setTimeout(probe, init.hostLostAfterMs / 2);
        if (!isRemoteFrame(frame)) return finish({ kind: 'malformed', detail: 'a message that is not a frame' });
        if (frame.kind === 'alive') return;
        if (frame.kind === 'chunk') {
          if (!init.onChunk) return finish({ kind: 'malformed', detail: 'a chunk for a call that is not a stream' });
          if (frame.index !== nextIndex) return finish({ kind: 'lost', why: `its chunk ${nextIndex} was lost on the way (chunk ${String(frame.index)} came next)`, cancel: true });
          nextIndex++;
          lastFinal = frame.final === true;
          try {
            return init.onChunk(frame);
          } catch (error) {
            return finish({ kind: 'malformed', detail: (error as Error).message });
          }
        }
        if (frame.kind === 'end' && typeof frame.chunks === 'number' && frame.chunks !== nextIndex) {
          return finish({ kind: 'lost', why: `chunks were lost on the way (${nextIndex} came of the ${frame.chunks} sent)`, cancel: true });
        }
        if (frame.kind === 'end' && !lastFinal) return finish({ kind: 'lost', why: `the chunks after chunk ${nextIndex - 1} were lost on the way`, cancel: true });
        finish({ kind: 'frame', frame });
      },
      error: (error: unknown) => finish(isNoResponders(error) ? { kind: 'unreachable' } : { kind: 'lost', why: `the broker connection failed (${(error as Error)?.message ?? String(error)})` }),
      complete: () => finish({ kind: 'lost', why: 'its answer ended without a result' }),
    });
    if (done) subscription.unsubscribe();
    else if (init.signal?.aborted) onAbort();
  });
}
