"""What a ``stream``-style tool receives (no protobuf here: adapters import it freely)."""
import queue
import threading
from typing import Any

from ._errors import StreamCancelled

SEND_QUEUE_SIZE = 8
POLL_SECONDS = 0.05

_ITEM, _DONE, _FAILED = 0, 1, 2


class Stream:
    """What a ``stream``-style tool receives: ``stream.send(value)`` emits one chunk."""

    __slots__ = ("_queue", "_cancel")

    def __init__(self, cancel: threading.Event) -> None:
        self._queue: "queue.Queue[Any]" = queue.Queue(SEND_QUEUE_SIZE)
        self._cancel = cancel

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def send(self, value: Any) -> None:
        """Emit ``value`` (a JSON value, or bytes) as one chunk. Blocks while the host is
        behind; raises StreamCancelled once the call is cancelled."""
        if not self._put((_ITEM, value)):
            raise StreamCancelled("the stream was cancelled")

    def _put(self, item: Any) -> bool:
        cancel, put = self._cancel, self._queue.put
        while not cancel.is_set():
            try:
                put(item, timeout=POLL_SECONDS)
                return True
            except queue.Full:
                pass
        return False
