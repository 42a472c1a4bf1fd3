import { Observable } from 'rxjs';
import type { StreamChunk } from './chunk-stream';

/** A stream of chunks as an rxjs Observable: subscribing starts it, unsubscribing stops it. */
export function chunksAsObservable<T>(start: () => AsyncIterableIterator<StreamChunk<T>>): Observable<StreamChunk<T>> {
  return new Observable<StreamChunk<T>>((subscriber) => {
    const chunks = start();
    void (async () => {
      try {
        for await (const chunk of chunks) {
          if (subscriber.closed) return;
          subscriber.next(chunk);
        }
        subscriber.complete();
      } catch (error) {
        subscriber.error(error);
      }
    })();
    return () => void chunks.return?.();
  });
}
