"""Values the host shares with many calls (``pool.share``): a tag names one, and the worker
reads it from the run's shared-memory directory. ``<name>.meta`` holds the value's JSON text,
its tag count and where its buffers are; the buffers are in segment ``<name>``, mapped
copy-on-write, so each call gets arrays on the same pages and may write to them privately."""
import json
from typing import Any

from . import _values
from ._segments import SegmentError


class _Buffer:
    __slots__ = ("name", "offset", "length")

    def __init__(self, name: str, offset: int, length: int) -> None:
        self.name, self.offset, self.length = name, offset, length


def open_shared(name: str, shm: Any) -> Any:
    """The value shared under ``name``."""
    if shm is None:
        raise SegmentError("the host sent a shared value to a worker without shared memory")
    try:
        meta = json.loads(shm.read_text(f"{name}.meta"))
        text = meta["json"].encode("utf-8", "surrogatepass")
        buffers = [_Buffer(str(n), int(o), int(l)) for n, o, l in meta["buffers"]]
        tags = int(meta["tags"])
    except SegmentError:
        raise SegmentError(f"shared value {name!r} is gone (closed, or past its TTL)") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise SegmentError(f"shared value {name!r} is unreadable: {exc}") from None
    mapped = {}

    def lookup(index: int) -> Any:
        buf = buffers[index]
        mapping = mapped.get(buf.name)
        if mapping is None:
            mapping = mapped[buf.name] = shm.map(buf.name)
        return memoryview(mapping)[buf.offset : buf.offset + buf.length]

    return _values.decode(text, tags, lookup)
