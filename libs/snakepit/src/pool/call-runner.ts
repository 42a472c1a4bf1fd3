import { Logger } from '@nestjs/common';
import type * as grpc from '@grpc/grpc-js';
import { decodeReply } from '../bridge/codec';
import type { DataPlane } from '../data/data-plane';
import type { WireExecuteReply, WireExecuteRequest } from '../bridge/wire';
import { isWorkerDeath, SharedMemoryLimitError, StreamConsumerIdleError, WorkerProtocolError, type SnakepitError } from '../errors';
import type { PoolConfig } from '../options/resolve-options';
import { backoffDelay } from '../supervision/backoff';
import { SnakepitEvent } from '../telemetry/events';
import type { Call } from './call';
import type { CallBook } from './call-book';
import type { Dispatcher } from './dispatcher';
import type { PoolLifecycle } from './pool-lifecycle';
import type { PoolTelemetry } from './pool-telemetry';
import { StreamRelay, StreamViolation } from './stream-relay';
import type { ToolCatalog } from './tool-catalog';
import type { WorkerFleet } from './worker-fleet';
import type { PoolWorker } from './worker.types';

/** The longest wait before retrying an idempotent call. */
const MAX_RETRY_BACKOFF_MS = 30_000;
/** How often a call sent ahead may go back to the queue because its worker was lost before
 *  starting it; past that, a loss counts as one under the call. */
const MAX_REQUEUES = 3;

/**
 * Runs dispatched calls on their workers, unary or stream, until they are off the worker. It
 * owns what happens when a caller gives up on a running call (Python is told, gets
 * cancelGraceMs, and the worker is replaced if the call is still stuck on it), retries
 * idempotent calls whose worker died (crash barrier), and frees the worker for its next call.
 */
export class CallRunner {
  private readonly logger: Logger;

  constructor(
    private readonly config: PoolConfig,
    private readonly book: CallBook,
    private readonly dispatcher: Dispatcher,
    private readonly fleet: WorkerFleet,
    private readonly tools: ToolCatalog,
    private readonly lifecycle: PoolLifecycle,
    private readonly telemetry: PoolTelemetry,
    private readonly data: DataPlane,
  ) {
    this.logger = new Logger(`Snakepit:${config.name}`);
  }

  /** A worker took the call; `ahead`: it was sent ahead, to wait there behind others. */
  run(call: Call, worker: PoolWorker, ahead = false): void {
    clearTimeout(call.queueTimer);
    try {
      this.tools.assertKind(call.tool, call.kind === 'stream'); // checked at dispatch while the pool booted
      if (call.uncheckedArgs !== undefined) {
        const args = call.uncheckedArgs;
        call.uncheckedArgs = undefined;
        this.tools.assertArguments(call.tool, args);
      }
    } catch (error) {
      this.book.settle(call, { error: error as SnakepitError });
      this.free(worker);
      return;
    }
    if (!worker.reachable) {
      // Its channel broke a moment ago: the worker is dying (its exit will say how) or about to
      // be replaced. The call never left the host, so it goes back to the head of the queue,
      // and the worker takes no more.
      this.dispatcher.suspend(worker.id);
      return this.dispatcher.resubmit(call); // still queued: it goes back to the head
    }
    this.book.move(call, 'running', worker.id);
    call.awaitingStart = ahead;
    if (!ahead) call.dispatchedAt ??= performance.now(); // a retry's execution counts from the first attempt
    call.session?.onDispatch(worker.id);
    const onStarted = ahead ? () => this.started(call) : undefined;
    if (call.kind === 'stream') return this.runStream(call, worker, onStarted);
    call.stopWork = () => worker.cancel(call.id); // a tool that polls session_context.cancelled can stop early
    worker.execute(this.request(call), onStarted).then(
      (reply) => {
        if (call.state === 'running') this.settleWithReply(call, worker, reply);
        else this.data.discard(reply.result); // the caller has its answer: what the reply names goes unread
        this.book.move(call, 'done');
        this.free(worker);
      },
      (error: SnakepitError) => {
        // A dead worker is replaced when its exit is seen; any other channel failure: replace it
        // now, before the call may go back to the queue (and so to another worker).
        if (!isWorkerDeath(error)) this.fleet.retire(worker, 'protocol');
        this.lost(call, worker, error, true);
      },
    );
  }

  /**
   * The caller gave up on a running call (timeout, abort): it gets its error now, Python is
   * asked to stop, and after cancelGraceMs a call still on the worker is stuck.
   */
  abandon(call: Call, error: SnakepitError): void {
    this.book.settle(call, { error });
    this.stopAbandoned(call);
  }

  /** A call sent ahead has started on its worker: from now on, it has run. */
  private started(call: Call): void {
    call.awaitingStart = false;
    call.dispatchedAt ??= performance.now();
  }

  private runStream(call: Call, worker: PoolWorker, onStarted?: () => void): void {
    const chunks = call.chunks!;
    const stream = worker.openStream(this.request(call), onStarted);
    const relay = new StreamRelay(chunks, call.tool, (value) => this.data.incoming(value, worker.id), call.session?.sessionId);
    call.stopWork = () => {
      worker.cancel(call.id);
      stream.resume(); // read to the end, discarding, so the worker is seen to finish
    };
    chunks.attach({
      pause: () => stream.pause(),
      resume: () => stream.resume(),
      // The consumer stopped reading (break, return()): stop Python, free the worker when it has.
      cancel: () => {
        if (call.state !== 'running') return;
        this.book.settle(call, { value: undefined, cancelled: true });
        this.stopAbandoned(call);
      },
      // The consumer stalled with the buffer full: the worker is not held for it.
      idle: () => {
        if (call.state === 'running') this.abandon(call, new StreamConsumerIdleError(call.tool, this.config.streamIdleTimeoutMs));
      },
    });
    stream.on('data', (wire) => {
      if (call.state !== 'running' || relay.failed) return this.data.discard(wire.data);
      try {
        const pythonError = relay.take(wire);
        if (pythonError) this.book.settle(call, { error: pythonError });
      } catch (error) {
        relay.failed = true;
        if (error instanceof SharedMemoryLimitError) {
          // A chunk too big to take: the stream stops, the worker is not at fault.
          this.book.settle(call, { error });
          return this.stopAbandoned(call);
        }
        const detail = error instanceof StreamViolation ? error.message : 'sent a message that cannot be read';
        this.book.settle(call, { error: new WorkerProtocolError(worker.id, `its stream of "${call.tool}" ${detail}`, { cause: error }) });
        this.book.move(call, 'abandoned');
        this.fleet.retire(worker, 'protocol'); // a worker that speaks garbage is not trusted with another call
      }
    });
    // The failure is settled on 'close', after the chunks the host had already read.
    let transportError: Promise<SnakepitError> | undefined;
    stream.on('error', (error: grpc.ServiceError) => {
      transportError ??= worker.explainFailure(error, call.tool);
    });
    stream.on('close', () => void this.streamClosed(call, worker, relay, transportError));
  }

  /** A stream's gRPC call is over: finish the caller's side and free (or replace) the worker. */
  private async streamClosed(call: Call, worker: PoolWorker, relay: StreamRelay, transportError: Promise<SnakepitError> | undefined): Promise<void> {
    if (call.state === 'done') return; // gRPC closes a call once; nothing else may end it twice
    // Until the failure is explained (it may wait for the exit), the call stays running, so a
    // timeout, an abort or the consumer leaving still reach it.
    const error = transportError ? await transportError : undefined;
    const delivering = call.state === 'running' && !relay.failed;
    if (delivering) relay.flush();
    if (error) {
      if (!isWorkerDeath(error)) this.fleet.retire(worker, 'protocol');
      // A stream that sent nothing yet may run again.
      if (delivering) this.lost(call, worker, error, relay.received === 0);
      else this.book.move(call, 'done');
      return;
    }
    if (delivering) {
      call.chunks!.end();
      this.book.settle(call, { value: undefined });
    }
    this.book.move(call, 'done');
    this.free(worker);
  }

  /** The transport under the call failed. A running call is retried elsewhere when it may be
   *  (`retryable` and idempotent, crash barrier), else its caller gets the error. */
  private lost(call: Call, worker: PoolWorker, error: SnakepitError, retryable: boolean): void {
    if (call.state !== 'running') return this.book.move(call, 'done');
    // Sent ahead and lost with its dead worker before it started: it has not run. (A channel
    // that failed under a live worker proves nothing of the kind.)
    if (call.awaitingStart && isWorkerDeath(error) && call.requeues < MAX_REQUEUES && this.lifecycle.accepting) return this.requeue(call);
    if (retryable && this.mayRetry(call, error)) return this.retry(call, error);
    this.book.move(call, 'done');
    this.book.settle(call, { error: this.lifecycle.explainLoss(call.tool, error, worker) });
  }

  private mayRetry(call: Call, error: SnakepitError): boolean {
    const barrier = this.config.crashBarrier;
    return barrier.enabled && call.idempotent && isWorkerDeath(error) && call.attempts < barrier.maxRetries && this.lifecycle.accepting;
  }

  /** A call sent ahead to a worker that was lost before starting it has not run: it goes back
   *  to the head of the queue at once, and it is not a retry. */
  private requeue(call: Call): void {
    call.awaitingStart = false;
    call.requeues++;
    this.book.move(call, 'backoff');
    this.dispatcher.resubmit(call);
  }

  /** Crash barrier: an idempotent call whose worker died goes back to the head of the queue, after its backoff. */
  private retry(call: Call, error: SnakepitError): void {
    call.attempts++;
    this.book.move(call, 'backoff');
    this.book.counters.retries++;
    const { maxRetries, retryBackoffMs } = this.config.crashBarrier;
    const delayMs = backoffDelay(retryBackoffMs, call.attempts - 1, MAX_RETRY_BACKOFF_MS);
    this.logger.warn(`retrying "${call.tool}" (attempt ${call.attempts} of ${maxRetries}) in ${delayMs} ms: ${error.message.split('\n')[0]}`);
    this.telemetry.emit(SnakepitEvent.CallRetried, { pool: this.config.name, tool: call.tool, attempt: call.attempts, delayMs, code: error.code });
    const timer = setTimeout(() => {
      if (call.state === 'backoff' && this.book.isOpen(call)) this.dispatcher.resubmit(call);
    }, delayMs);
    call.cleanup.push(() => clearTimeout(timer));
  }

  /** Asks Python to stop a call whose caller has its answer; a call still on the worker after
   *  cancelGraceMs is stuck, and its worker is replaced. */
  private stopAbandoned(call: Call): void {
    const worker = call.workerId === undefined ? undefined : this.fleet.find(call.workerId);
    this.book.move(call, 'abandoned');
    call.stopWork?.();
    if (!worker) return;
    call.graceTimer = setTimeout(() => {
      if (call.state !== 'abandoned') return;
      this.book.move(call, 'stuck');
      this.logger.warn(`worker ${worker.id} still runs "${call.tool}" after the caller gave up; replacing it`);
      this.fleet.retireStuck(worker);
    }, this.config.cancelGraceMs);
    call.graceTimer.unref();
  }

  private settleWithReply(call: Call, worker: PoolWorker, reply: WireExecuteReply): void {
    let outcome: ReturnType<typeof decodeReply>;
    try {
      outcome = decodeReply(call.tool, reply, (value) => this.data.incoming(value, worker.id), call.session?.sessionId);
    } catch (error) {
      if (error instanceof SharedMemoryLimitError) return this.book.settle(call, { error }); // too big, not garbage
      outcome = { ok: false, error: new WorkerProtocolError(worker.id, `its reply to "${call.tool}" is unreadable`, { cause: error }) };
      this.fleet.retire(worker, 'protocol'); // a worker that speaks garbage is not trusted with another call
    }
    this.book.settle(call, outcome.ok ? { value: outcome.value } : { error: outcome.error });
  }

  /** A call on the worker is over: it takes the next one, unless it is due for recycling. */
  private free(worker: PoolWorker): void {
    if (!worker.serving || !this.fleet.find(worker.id)) return;
    if (this.fleet.released(worker)) this.dispatcher.release(worker.id);
  }

  /** The call as the worker gets it, with the trace context of its span. */
  private request(call: Call): WireExecuteRequest {
    const trace = call.span?.headers;
    return {
      tool: call.tool,
      args: call.args,
      requestId: call.id,
      sessionId: call.session?.sessionId ?? '',
      traceparent: trace?.traceparent ?? '',
      tracestate: trace?.tracestate ?? '',
    };
  }
}
