import type * as grpc from '@grpc/grpc-js';
import { decodeError, decodeValue } from '../bridge/codec';
import type { WireStreamChunk } from '../bridge/wire';
import { WorkerCrashError, WorkerProtocolError, WorkerUnresponsiveError, type SnakepitError } from '../errors';
import type { ChunkStream, SizedChunk } from './chunk-stream';
import { unstick, type PendingCall } from './pending-call';
import type { StopReason, Worker } from './worker';

/** What a running stream may do to its pool. */
export interface StreamPool {
  readonly cancelGraceMs: number;
  /** Ends the call for its caller (see Pool.settle). */
  settle(call: PendingCall, error?: Error, value?: unknown, cancelled?: boolean): void;
  /** Ends the call with a transport failure, or retries it elsewhere when `retryable` and it is
   *  idempotent (crash barrier). */
  fail(call: PendingCall, error: SnakepitError, worker: Worker, retryable: boolean): void;
  release(worker: Worker): void;
  retire(worker: Worker, reason: StopReason): void;
  /** The stream outlived its consumer and cancelGraceMs (see Pool.retireStuck). */
  retireStuck(call: PendingCall, worker: Worker): void;
  warn(message: string): void;
}

/** A stream chunk's payload size on the wire. */
function wireSize(wire: WireStreamChunk): number {
  return wire.data?.json?.length ?? wire.data?.binary?.length ?? 0;
}

/**
 * A stream runs: chunks flow from the worker into the caller's ChunkStream, one chunk behind
 * (so that the last one can be marked final). The worker is released when the stream ends.
 */
export function runStream(pool: StreamPool, call: PendingCall, worker: Worker): void {
  const chunks = call.chunks!;
  const grpcCall = worker.openStream(
    { tool: call.tool, argsJson: call.args, requestId: call.id, sessionId: call.session?.sessionId ?? '' },
    call.span?.headers,
  );
  call.stopStream = () => {
    worker.cancel(call.id);
    grpcCall.resume(); // read to the end, discarding, so the worker is seen to finish
  };
  chunks.attach({
    pause: () => grpcCall.pause(),
    resume: () => grpcCall.resume(),
    cancel: () => abandonStream(pool, call, worker),
  });
  let held: SizedChunk | undefined;
  let index = 0;
  let failed = false;
  grpcCall.on('data', (wire: WireStreamChunk) => {
    if (call.state !== 'running' || failed) return;
    try {
      if (wire.payload === 'error') {
        if (held) chunks.push(held);
        held = undefined;
        failed = true;
        pool.settle(call, decodeError(call.tool, wire.error!, call.session?.sessionId));
        return;
      }
      const hasData = wire.payload === 'data';
      if (held && (hasData || !wire.final)) chunks.push(held);
      else if (held) held = { ...held, final: true };
      if (hasData) held = { data: decodeValue(wire.data), index: index++, final: wire.final, size: wireSize(wire) };
      if (wire.final && held) {
        chunks.push({ ...held, final: true });
        held = undefined;
      }
    } catch (error) {
      failed = true;
      pool.settle(call, new WorkerProtocolError(worker.id, `its stream of "${call.tool}" is unreadable`, { cause: error }));
      call.state = 'abandoned';
      pool.retire(worker, 'protocol'); // a worker that speaks garbage is not trusted with another call
    }
  });
  // The failure is settled on 'close', after the chunks the host had already read.
  let transportError: Promise<SnakepitError> | undefined;
  grpcCall.on('error', (error: grpc.ServiceError) => {
    transportError ??= worker.explainFailure(error, call.tool);
  });
  grpcCall.on('close', () => void endStream(pool, call, worker, chunks, { held, received: index, failed }, transportError));
}

/** A stream's gRPC call is over: finish the caller's side and free (or replace) the worker. */
async function endStream(
  pool: StreamPool,
  call: PendingCall,
  worker: Worker,
  chunks: ChunkStream,
  /** The chunk held back, how many chunks came, and whether Python reported an error. */
  seen: { held?: SizedChunk; received: number; failed: boolean },
  transportError: Promise<SnakepitError> | undefined,
): Promise<void> {
  // Until the failure is explained (it may wait for the exit), the call stays running, so a
  // timeout, an abort or the consumer leaving still reach it.
  const error = transportError ? await transportError : undefined;
  const wasRunning = call.state === 'running';
  call.state = 'done';
  clearTimeout(call.graceTimer);
  unstick(call, worker);
  const last = seen.held;
  if (error) {
    if (wasRunning && !seen.failed) {
      if (last) chunks.push(last);
      pool.fail(call, error, worker, seen.received === 0); // a stream that sent nothing yet may run again
    }
    if (!(error instanceof WorkerCrashError || error instanceof WorkerUnresponsiveError)) pool.retire(worker, 'protocol');
    return;
  }
  if (wasRunning && !seen.failed) {
    if (last) chunks.push(last);
    chunks.end();
    pool.settle(call, undefined);
  }
  pool.release(worker);
}

/** The consumer stopped reading (break, return()): stop Python, free the worker when it has. */
function abandonStream(pool: StreamPool, call: PendingCall, worker: Worker): void {
  if (call.state !== 'running') return;
  pool.settle(call, undefined, undefined, true);
stopRunningStream(pool, call, worker);
}

/** Asks Python to stop the stream; replaces the worker if it has not within cancelGraceMs. */
export function stopRunningStream(pool: StreamPool, call: PendingCall, worker: Worker): void {
  call.state = 'abandoned';
  call.stopStream?.();
  call.graceTimer = setTimeout(() => {
    if (call.state !== 'abandoned') return;
    pool.warn(`worker ${worker.id} did not stop the stream of "${call.tool}" in time`);
    pool.retireStuck(call, worker);
  }, pool.cancelGraceMs);
  call.graceTimer.unref();
}
