"""Shared-memory segments: large buffers that travel as files in the run's private directory
(made by the host: 0700, under /dev/shm) instead of inside a gRPC message.

The host writes the segments of arguments and shared values (names starting with "h" and "s");
this worker writes those of its results, named ``<prefix>.<n>`` with the prefix the host gave
it (``--shm-prefix``). A result's segments are removed by the host once it has read them; the
ones a call made and did not return are removed by the worker when the call ends, and whatever
a dead worker left is removed by the host.
"""
import itertools
import mmap
import os
import re
from typing import Any, List, NamedTuple, Optional, Sequence, Tuple

SEGMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")
# Where each buffer of a segment starts: a multiple of this, so any element type is aligned.
ALIGNMENT = 64
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_CREATE_FLAGS = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
# One write(2) moves at most this much on Linux.
_MAX_WRITE = 1 << 30


class SegmentRef(NamedTuple):
    """Where a buffer is: a segment, and a range of it."""

    name: str
    offset: int
    length: int


class SegmentError(RuntimeError):
    """A segment the host named cannot be read, or one cannot be written."""


class OutputSegment:
    """A segment this worker made for a tool to fill (``output_array``)."""

    __slots__ = ("name", "mapping", "address", "size", "sent")

    def __init__(self, name: str, mapping: mmap.mmap, address: int, size: int) -> None:
        self.sent = False  # a reply named it: the host removes it
        self.name = name
        self.mapping = mapping
        self.address = address
        self.size = size


class SharedMemory:
    """The run's shared-memory directory as this worker sees it."""

    def __init__(self, directory: str, prefix: str, threshold: int) -> None:
        self.directory = directory
        self.prefix = prefix
        self.threshold = threshold
        self._seq = itertools.count(1)

    def new_name(self) -> str:
        return f"{self.prefix}.{next(self._seq)}"  # itertools.count is atomic under the GIL

    def _path(self, name: str) -> str:
        if not isinstance(name, str) or not SEGMENT_NAME.match(name):
            raise SegmentError(f"{name!r} is not a segment name")
        return os.path.join(self.directory, name)

    # -- reading what the host wrote --------------------------------------------------

    def map(self, name: str) -> mmap.mmap:
        """Segment ``name``, mapped copy-on-write: arrays on it are writable, and writing to
        them changes nothing the host sees. Pages are read from the segment when first used."""
        try:
            fd = os.open(self._path(name), _OPEN_FLAGS)
        except OSError as exc:
            raise SegmentError(f"shared-memory segment {name!r} cannot be opened: {exc.strerror}") from None
        try:
            size = os.fstat(fd).st_size
            if size == 0:
                return mmap.mmap(-1, 1)  # an empty segment: nothing to map, nothing to read
            return mmap.mmap(fd, size, access=mmap.ACCESS_COPY)
        finally:
            os.close(fd)

    def read_text(self, name: str) -> bytes:
        try:
            with open(self._path(name), "rb", opener=lambda path, flags: os.open(path, _OPEN_FLAGS)) as f:
                return f.read()
        except OSError as exc:
            raise SegmentError(f"shared-memory segment {name!r} cannot be read: {exc.strerror}") from None

    # -- writing results --------------------------------------------------------------

    def write(self, parts: Sequence[memoryview]) -> List[SegmentRef]:
        """A new segment holding ``parts``, each at an aligned offset; one copy."""
        name = self.new_name()
        fd = self._create(name)
        refs = []
        offset = 0
        try:
            for part in parts:
                pad = -offset % ALIGNMENT
                if pad:
                    _write_all(fd, memoryview(bytes(pad)))
                    offset += pad
                _write_all(fd, part)
                refs.append(SegmentRef(name, offset, part.nbytes))
                offset += part.nbytes
        except OSError as exc:
            os.close(fd)
            self.remove(name)
            raise SegmentError(f"cannot write shared-memory segment {name!r}: {exc.strerror}") from None
        os.close(fd)
        return refs

    def create_output(self, size: int) -> OutputSegment:
        """A new segment of ``size`` bytes, mapped shared, for a tool to fill."""
        name = self.new_name()
        fd = self._create(name)
        try:
            # Reserved now, so that a full /dev/shm is an error here, not a SIGBUS as it is filled.
            if size and hasattr(os, "posix_fallocate"):
                os.posix_fallocate(fd, 0, size)
            else:
                os.ftruncate(fd, size)
            mapping = mmap.mmap(fd, max(size, 1), flags=mmap.MAP_SHARED) if size else mmap.mmap(-1, 1)
        except OSError as exc:
            os.close(fd)
            self.remove(name)
            raise SegmentError(f"cannot make a shared-memory segment of {size} bytes: {exc.strerror}") from None
        os.close(fd)
        return OutputSegment(name, mapping, _address(mapping), size)

    def _create(self, name: str) -> int:
        try:
            return os.open(self._path(name), _CREATE_FLAGS, 0o600)
        except OSError as exc:
            raise SegmentError(f"cannot make shared-memory segment {name!r} in {self.directory}: {exc.strerror}") from None

    def remove(self, name: str) -> None:
        try:
            os.unlink(self._path(name))
        except (OSError, SegmentError):
            pass


def _write_all(fd: int, data: memoryview) -> None:
    data = data.cast("B") if data.format != "B" or data.ndim != 1 else data
    done = 0
    while done < data.nbytes:
        done += os.write(fd, data[done : done + _MAX_WRITE])


def _address(mapping: mmap.mmap) -> int:
    import ctypes

    view = (ctypes.c_char * 1).from_buffer(mapping)
    try:
        return ctypes.addressof(view)
    finally:
        del view


_shared: Optional[SharedMemory] = None


def configure(directory: Optional[str], prefix: str, threshold: int) -> None:
    """Set by the server from --shm-dir, --shm-prefix and --shm-threshold."""
    global _shared
    _shared = SharedMemory(directory, prefix, threshold) if directory and prefix else None


def shared_memory() -> Optional[SharedMemory]:
    return _shared


def segment_of(array: Any, outputs: Optional[List[OutputSegment]]) -> Optional[SegmentRef]:
    """Where ``array`` (C-contiguous) sits, when it lies on one of the call's output segments."""
    if not outputs:
        return None
    root = array
    while getattr(root, "base", None) is not None and not isinstance(root, memoryview):
        root = root.base
    if isinstance(root, memoryview):
        root = root.obj
    for out in outputs:
        # One already returned is the host's to read and remove: an array on it is copied.
        if out.mapping is root and not out.sent:
            offset = array.ctypes.data - out.address
            if 0 <= offset and offset + array.nbytes <= out.size:
                return SegmentRef(out.name, offset, array.nbytes)
    return None


def placed(buffers: List[Any], shm: Optional[SharedMemory]) -> Tuple[List[Any], List[str]]:
    """``buffers`` (memoryviews and SegmentRefs) with the large memoryviews moved into one new
    segment; returns them and the names of the segments they now name."""
    if shm is not None:
        large = [i for i, b in enumerate(buffers) if type(b) is not SegmentRef and b.nbytes >= shm.threshold]
        if large:
            refs = shm.write([buffers[i] for i in large])
            buffers = list(buffers)
            for i, ref in zip(large, refs):
                buffers[i] = ref
    names = [b.name for b in buffers if type(b) is SegmentRef]
    return buffers, names
