"""The host's channel: every call on one long-lived bidirectional stream (``Worker.Channel``).

One reader thread per channel takes the host's frames: a call or a stream goes to the worker's
call threads, a cancel, a credit or a ping is handled at once. Replies, chunks and pongs go to
one outgoing queue as soon as they are ready; the gRPC handler's generator sends them, as many
as are waiting in one message (up to the message limit), so calls in flight share the cost of
each gRPC message. Replies are framed by hand around the bytes the worker already serialized:
nothing is parsed or copied again on the way out but the one join of a message.
"""
import logging
import queue
import threading
import traceback
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

from ._codec import _varint, drop_reply_segments, error_reply, exception_reply
from ._streaming import FINAL_CANCELLED

log = logging.getLogger("snakepit_bridge")

# WorkerFrames.frames (1); WorkerFrame.call (1), .reply (2), .chunk (3), .pong (4), .started (5).
_FRAME = b"\x0a"
_CALL = b"\x08"
REPLY, CHUNK, PONG = b"\x12", b"\x1a", b"\x22"
_STARTED = b"\x28\x01"
# Room a frame takes around its payload: a reply's limit leaves this much under the message's.
FRAME_SLACK = 32
# How often a call waiting for its `started` frame to be sent looks whether the channel broke.
STARTED_WAIT_SECONDS = 0.5
_CLOSE = None

Part = Tuple[bytes, bytes]  # (framing, payload)

# The answer to a call cancelled before it started (the host has given up on it already).
_NOT_STARTED = error_reply("CancelledBeforeStart", "the call was cancelled before it started", "", None, 4096)
_NOT_STARTED_CHUNK = FINAL_CANCELLED
# The answer to a call that came once the channel drains.
_STOPPING = error_reply("WorkerStoppingError", "the worker is shutting down; the call did not run", "", None, 4096)


def started_frame(call: int, sent: threading.Event) -> Any:
    """A `started` frame, and the event set once the message carrying it is sent."""
    body = _CALL + _varint(call) + _STARTED
    return _FRAME + _varint(len(body)) + body, b"", sent


def frame(call: int, kind: bytes, payload: bytes) -> Part:
    """A WorkerFrame around ``payload`` (serialized ExecuteReply, StreamChunk or PingReply),
    as the framing bytes and the payload, joined only when the message is sent."""
    body_head = _CALL + _varint(call) + kind + _varint(len(payload))
    return _FRAME + _varint(len(body_head) + len(payload)) + body_head, payload


class Credit:
    """How many more chunks a stream may send; a send waits for one, or for the cancel."""

    __slots__ = ("_left", "_ready", "_cancelled")

    def __init__(self, initial: int) -> None:
        self._left = initial
        self._ready = threading.Condition(threading.Lock())
        self._cancelled = False

    def grant(self, count: int) -> None:
        with self._ready:
            self._left += count
            self._ready.notify()

    def cancel(self) -> None:
        with self._ready:
            self._cancelled = True
            self._ready.notify()

    def take(self) -> bool:
        """One chunk's worth: True when granted; False at once when the stream is cancelled
        without credit left (the chunk is not wanted, but the cancelled end must get out)."""
        with self._ready:
            while self._left <= 0 and not self._cancelled:
                self._ready.wait()
            self._left -= 1
            return self._left >= 0


class Channels:
    """The channels open on one worker, so that SIGTERM can drain them all."""

    def __init__(self, worker: Any, executor: Any, limit: int) -> None:
        self._worker = worker
        self._executor = executor
        self._limit = limit
        self._open: Set["Channel"] = set()
        self._lock = threading.Lock()
        self.draining = False

    def serve(self, requests: Iterator[Any], context: Any) -> Iterator[bytes]:
        """The Channel RPC's handler: WorkerFrames messages until the channel ends."""
        channel = Channel(self._worker, self._executor, self._limit)
        with self._lock:
            self._open.add(channel)
            if self.draining:
                channel.drain()
        try:
            yield from channel.run(requests, context)
        finally:
            with self._lock:
                self._open.discard(channel)

    def drain(self) -> None:
        """No more calls: each channel ends once the calls it runs are over."""
        with self._lock:
            self.draining = True
            channels = list(self._open)
        for channel in channels:
            channel.drain()

    def wait_closed(self, timeout: float) -> bool:
        for channel in list(self._open):
            if not channel.closed.wait(timeout):
                return False
        return True


class Channel:
    """One host's channel: its reader, its calls in flight, and its outgoing queue."""

    def __init__(self, worker: Any, executor: Any, limit: int) -> None:
        self._worker = worker
        self._executor = executor
        self._limit = limit
        self._out: "queue.SimpleQueue[Optional[Part]]" = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._calls: Dict[int, str] = {}  # call number -> request id, until it is answered
        self._waiting: Dict[int, bool] = {}  # calls not started yet -> whether to report the start
        self._skipped: Set[int] = set()  # calls cancelled while they waited: answered already
        self._credits: Dict[int, Credit] = {}
        self._ending = False  # the host ended its side, or SIGTERM: close once idle
        self._broken = False  # the host is gone: sends are dropped
        self.closed = threading.Event()

    def run(self, requests: Iterator[Any], context: Any) -> Iterator[bytes]:
        reader = threading.Thread(
            target=self._read, args=(requests, context), name="snakepit-channel", daemon=True
        )
        reader.start()
        try:
            yield from self._messages()
        finally:
            self._stop_all()
            self.closed.set()

    def drain(self) -> None:
        with self._lock:
            self._ending = True
            idle = not self._calls
        if idle:
            self._out.put(_CLOSE)

    # -- the host's frames ----------------------------------------------------------------

    def _read(self, requests: Iterator[Any], context: Any) -> None:
        try:
            for message in requests:
                for host_frame in message.frames:
                    self._take(host_frame)
        except Exception as exc:  # the RPC was cancelled or broke: the host is gone
            if context is None or context.is_active():
                log.warning("the host's channel broke: %s", exc)
            self._broken = True
            self._stop_all()
            self._out.put(_CLOSE)
            return
        self.drain()  # the host ended its side

    def _take(self, host_frame: Any) -> None:
        call = host_frame.call
        body = host_frame.WhichOneof("body")
        if body == "execute":
            self._start(call, host_frame.report_start, host_frame.execute)
        elif body == "stream":
            self._start(call, host_frame.report_start, host_frame.stream.request, Credit(host_frame.stream.credit))
        elif body == "credit":
            credit = self._credits.get(call)
            if credit is not None:
                credit.grant(host_frame.credit)
        elif body == "cancel":
            self._cancel(call)
        elif body == "ping":
            self._send(call, PONG, self._worker.ping())

    def _start(self, call: int, report_start: bool, request: Any, credit: Optional[Credit] = None) -> None:
        """The call (a stream when it has `credit`) waits for a call thread (at once, unless the
        host sent it ahead): the threads take calls in the order they came. Once the channel
        drains (SIGTERM, or the host ended its side), no new call runs: it is refused."""
        with self._lock:
            refused = self._ending
            if not refused:
                self._calls[call] = request.request_id
                self._waiting[call] = report_start
                if credit is not None:
                    self._credits[call] = credit
        if refused:
            self._send(call, REPLY if credit is None else CHUNK, _STOPPING)
            return
        try:
            if credit is None:
                self._executor.submit(self._execute, call, request)
            else:
                self._executor.submit(self._stream, call, request, credit)
        except RuntimeError:  # the executor shut down: the worker is exiting
            self._finished(call)

    def _began(self, call: int) -> bool:
        """On the call's thread, as it starts: False when it was cancelled while it waited.
        A call the host sent ahead runs only once the host has been sent its `started` frame:
        if the worker dies after that, the host knows the call may have run; before, that it
        did not (and may run it elsewhere)."""
        with self._lock:
            if call in self._skipped:
                self._skipped.discard(call)
                return False
            report = self._waiting.pop(call, False)
        if report:
            sent = threading.Event()
            self._send_part(started_frame(call, sent))
            while not sent.wait(STARTED_WAIT_SECONDS):
                if self._broken or self.closed.is_set():
                    return False  # the host is gone: nothing to run the call for
        return True

    def _cancel(self, call: int) -> None:
        with self._lock:
            rid = self._calls.get(call)
            credit = self._credits.pop(call, None) if call in self._waiting else self._credits.get(call)
            waited = self._waiting.pop(call, None) is not None
            if waited:
                self._skipped.add(call)
        if waited:  # never started: answered now, and never run
            self._send(call, CHUNK if credit is not None else REPLY, _NOT_STARTED_CHUNK if credit is not None else _NOT_STARTED)
            self._finished(call)
            return
        if rid is not None:
            self._worker.cancel_request(rid)
        if credit is not None:
            credit.cancel()

    def _stop_all(self) -> None:
        with self._lock:
            running = list(self._calls)
        for call in running:
            self._cancel(call)

    # -- the calls --------------------------------------------------------------------------

    def _execute(self, call: int, request: Any) -> None:
        if not self._began(call):
            return
        try:
            reply = self._worker.execute(request)
        except BaseException as exc:  # the bridge's own fault: the host must still hear of it
            log.error("call %d failed in the bridge:\n%s", call, traceback.format_exc().rstrip())
            reply = exception_reply(exc, self._limit)
        try:
            self._send(call, REPLY, reply)
        finally:
            self._finished(call)

    def _stream(self, call: int, request: Any, credit: Credit) -> None:
        if not self._began(call):
            return
        chunks = self._worker.execute_stream(request)
        try:
            while True:
                try:
                    chunk = next(chunks)
                except StopIteration:
                    return
                except BaseException as exc:  # the bridge's own fault: the stream ends with it
                    log.error("stream %d failed in the bridge:\n%s", call, traceback.format_exc().rstrip())
                    chunk = exception_reply(exc, self._limit)
                # Each chunk waits for its credit: the tool runs at most one chunk ahead of the host.
                # Once cancelled, only the cancelled end goes out.
                if credit.take() or chunk == FINAL_CANCELLED:
                    self._send(call, CHUNK, chunk)
                else:
                    drop_reply_segments(chunk)  # made before the cancel: the host will not read them
        finally:
            chunks.close()
            with self._lock:
                self._credits.pop(call, None)
            self._finished(call)

    def _finished(self, call: int) -> None:
        with self._lock:
            self._calls.pop(call, None)
            close = self._ending and not self._calls
        if close:
            self._out.put(_CLOSE)

    def _send(self, call: int, kind: bytes, payload: bytes) -> None:
        self._send_part(frame(call, kind, payload))

    def _send_part(self, part: Part) -> None:
        if not self._broken:
            self._out.put(part)

    # -- the outgoing messages ----------------------------------------------------------------

    def _messages(self) -> Iterator[bytes]:
        """WorkerFrames messages: each carries every frame waiting, up to the message limit."""
        get, get_nowait, limit = self._out.get, self._out.get_nowait, self._limit
        held: Optional[Part] = None
        while True:
            part = held if held is not None else get()
            held = None
            if part is _CLOSE:
                return
            parts: List[bytes] = [part[0], part[1]]
            size = len(part[0]) + len(part[1])
            sent_events = [part[2]] if len(part) > 2 else []
            closing = False
            while True:
                try:
                    part = get_nowait()
                except queue.Empty:
                    break
                if part is _CLOSE:
                    closing = True
                    break
                if size + len(part[0]) + len(part[1]) > limit:
                    held = part
                    break
                parts += part[:2]
                size += len(part[0]) + len(part[1])
                if len(part) > 2:
                    sent_events.append(part[2])
            yield b"".join(parts)  # returns once gRPC has sent it
            for sent in sent_events:
                sent.set()
            if closing:
                return
