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
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

from ._codec import _varint

log = logging.getLogger("snakepit_bridge")

# WorkerFrames.frames (1); WorkerFrame.call (1), .reply (2), .chunk (3), .pong (4).
_FRAME = b"\x0a"
_CALL = b"\x08"
REPLY, CHUNK, PONG = b"\x12", b"\x1a", b"\x22"
# Room a frame takes around its payload: a reply's limit leaves this much under the message's.
FRAME_SLACK = 32
_CLOSE = None

Part = Tuple[bytes, bytes]  # (framing, payload)


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

    def take(self) -> None:
        """One chunk's worth; returns at once once the stream is cancelled (its last chunk,
        the cancelled end, must get out)."""
        with self._ready:
            while self._left <= 0 and not self._cancelled:
                self._ready.wait()
            self._left -= 1


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
        self._calls: Dict[int, str] = {}  # call number -> request id, while it runs
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
            self._start(call, host_frame.execute.request_id, self._execute, host_frame.execute)
        elif body == "stream":
            opened = host_frame.stream
            credit = Credit(opened.credit)
            with self._lock:
                self._credits[call] = credit
            self._start(call, opened.request.request_id, self._stream, opened.request, credit)
        elif body == "credit":
            credit = self._credits.get(call)
            if credit is not None:
                credit.grant(host_frame.credit)
        elif body == "cancel":
            self._cancel(call)
        elif body == "ping":
            self._send(call, PONG, self._worker.ping())

    def _start(self, call: int, rid: str, run: Any, *args: Any) -> None:
        with self._lock:
            self._calls[call] = rid
        try:
            self._executor.submit(run, call, *args)
        except RuntimeError:  # the executor shut down: the worker is exiting
            self._finished(call)

    def _cancel(self, call: int) -> None:
        with self._lock:
            rid = self._calls.get(call)
            credit = self._credits.get(call)
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
        try:
            self._send(call, REPLY, self._worker.execute(request))
        finally:
            self._finished(call)

    def _stream(self, call: int, request: Any, credit: Credit) -> None:
        chunks = self._worker.execute_stream(request)
        try:
            while True:
                credit.take()  # the tool makes its next chunk only once the host can take it
                try:
                    chunk = next(chunks)
                except StopIteration:
                    return
                self._send(call, CHUNK, chunk)
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
        if not self._broken:
            self._out.put(frame(call, kind, payload))

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
                parts += part
                size += len(part[0]) + len(part[1])
            yield b"".join(parts)
            if closing:
                return
