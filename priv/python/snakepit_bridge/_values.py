"""The value model, Python side: what a value becomes on the wire and back.

A value travels as JSON text in which tagged objects (first key ``"$snakepit"``) stand for what
JSON has no word for, with their binary data in buffers beside the text (proto message Value;
the tags are those of libs/snakepit/src/data/value-tags.ts, and the README lists them). This
module has no protobuf in it: adapters may import ``register_encoder`` freely.
"""
import base64
import dataclasses
import datetime as _dt
import decimal
import enum
import json
import sys
import uuid
from typing import Any, Callable, Dict, List, Optional

from ._segments import SegmentError, segment_of

TAG = "$snakepit"
MAX_SAFE_INTEGER = 2**53 - 1
# How deeply a value may nest (JavaScript reads more; Python's own recursion sets this bound).
MAX_DEPTH = 200
# dtype names both sides know, and their struct formats (for memoryviews without numpy).
FORMATS = {
    "bool": "?", "int8": "b", "uint8": "B", "int16": "h", "uint16": "H", "int32": "i",
    "uint32": "I", "int64": "q", "uint64": "Q", "float32": "f", "float64": "d",
}
_DTYPE_OF_FORMAT = {fmt: name for name, fmt in FORMATS.items()}
_DTYPE_OF_FORMAT.update({"l": "int64", "L": "uint64", "c": "uint8"})

_encoders: Dict[type, Callable[[Any], Any]] = {}
_encoder_for: Dict[type, Optional[Callable[[Any], Any]]] = {}


def register_encoder(cls: type, encode: Callable[[Any], Any]) -> None:
    """Send instances of ``cls`` (and its subclasses) as ``encode(obj)`` returns them: any value
    the bridge can send (a dict, a list, a numpy array, …). Registered encoders come before the
    bridge's own rules for other types (Decimal, datetime, dataclasses, numpy arrays, …), so one
    may change how those travel; JSON's own types (dict, list, str, int, float, bool, None)
    always travel as themselves."""
    if not isinstance(cls, type) or not callable(encode):
        raise TypeError("register_encoder(cls, encode): a class and a callable")
    _encoders[cls] = encode
    _encoder_for.clear()


def _registered(cls: type) -> Optional[Callable[[Any], Any]]:
    if not _encoders:
        return None
    try:
        return _encoder_for[cls]
    except KeyError:
        found = next((_encoders[base] for base in cls.__mro__ if base in _encoders), None)
        _encoder_for[cls] = found
        return found


class ValueNotSerializable(TypeError):
    """A value the bridge cannot send; ``path`` says where it sits (``result.items[3].model``)."""

    def __init__(self, problem: str, type_name: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.type_name = type_name
        self.keys: List[Any] = []  # innermost first, added while the walk unwinds

    def where(self, root: str) -> str:
        text = root
        for key in reversed(self.keys):
            if isinstance(key, int):
                text += f"[{key}]"
            elif key.isidentifier():
                text += f".{key}"
            else:
                text += f"[{json.dumps(key, ensure_ascii=False)}]"
        return text


def type_name(cls: type) -> str:
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


class Encoded:
    """A value as it travels: JSON text, its buffers (memoryviews, or SegmentRefs for data
    already in a segment), and how many tags the text holds."""

    __slots__ = ("json", "buffers", "tags")

    def __init__(self, json_text: bytes, buffers: List[Any], tags: int) -> None:
        self.json = json_text
        self.buffers = buffers
        self.tags = tags


_dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"), check_circular=False).encode
_loads = json.loads
_PLAIN = (str, bool, type(None))


def encode(value: Any, outputs: Optional[list] = None, inline: bool = False) -> Encoded:
    """``value`` in the value model. Raises ValueNotSerializable. ``outputs``: the call's output
    segments (an array on one travels by reference). ``inline``: binary data as base64 in the
    text (for a value that must stand alone)."""
    walker = _Walker(outputs, inline)
    try:
        tree = walker.walk(value, 0)
    except RecursionError:
        raise ValueNotSerializable(f"nested more than {MAX_DEPTH} levels deep (or a cycle)") from None
    text = _dumps(tree).encode("utf-8", "surrogatepass")
    return Encoded(text, walker.buffers, walker.tags)


class _Walker:
    __slots__ = ("buffers", "tags", "outputs", "inline", "np")

    def __init__(self, outputs: Optional[list], inline: bool) -> None:
        self.buffers: List[Any] = []
        self.tags = 0
        self.outputs = outputs
        self.inline = inline
        self.np = sys.modules.get("numpy")

    def walk(self, v: Any, depth: int) -> Any:
        t = type(v)
        if t in _PLAIN:
            return v
        if t is int:
            return v if -MAX_SAFE_INTEGER <= v <= MAX_SAFE_INTEGER else self._bigint(v)
        if t is float:
            if v - v != 0.0:  # NaN and the infinities
                raise ValueNotSerializable(f"{v!r}: JSON has no such number", "float")
            return v
        if t is dict:
            return self._dict(v, depth)
        if t is list:
            return self._list(v, depth)
        if depth >= MAX_DEPTH:
            raise ValueNotSerializable(f"nested more than {MAX_DEPTH} levels deep (or a cycle)")
        return self._other(v, t, depth)

    # Containers are copied only from their first value that changes (copy on write), and JSON's
    # own scalars are checked inline: a plain structure goes to json.dumps as it is.

    def _dict(self, d: Dict[Any, Any], depth: int) -> Any:
        if depth >= MAX_DEPTH:
            raise ValueNotSerializable(f"nested more than {MAX_DEPTH} levels deep (or a cycle)")
        out = None
        walk, of_dict, of_list = self.walk, self._dict, self._list
        for k, x in d.items():
            if type(k) is not str:
                return self._dict_with_keys(d, depth)
            t = type(x)
            if t is str or t is bool or x is None or (t is float and x - x == 0.0) or (t is int and -MAX_SAFE_INTEGER <= x <= MAX_SAFE_INTEGER):
                continue
            try:
                y = of_dict(x, depth + 1) if t is dict else of_list(x, depth + 1) if t is list else walk(x, depth + 1)
            except ValueNotSerializable as exc:
                exc.keys.append(k)
                raise
            if y is not x:
                if out is None:
                    out = dict(d)
                out[k] = y
        if TAG in d:
            return self._tag({TAG: "object", "entries": list((d if out is None else out).items())})
        return d if out is None else out

    def _dict_with_keys(self, d: Dict[Any, Any], depth: int) -> Any:
        """A dict with keys that are not strings: a copy with its keys as JSON has them."""
        return self._dict({(k if type(k) is str else _key(k)): x for k, x in d.items()}, depth)

    def _list(self, items: Any, depth: int) -> Any:
        if depth >= MAX_DEPTH:
            raise ValueNotSerializable(f"nested more than {MAX_DEPTH} levels deep (or a cycle)")
        out = None
        walk, of_dict, of_list = self.walk, self._dict, self._list
        for i, x in enumerate(items):
            t = type(x)
            if t is str or t is bool or x is None or (t is float and x - x == 0.0) or (t is int and -MAX_SAFE_INTEGER <= x <= MAX_SAFE_INTEGER):
                continue
            try:
                y = of_dict(x, depth + 1) if t is dict else of_list(x, depth + 1) if t is list else walk(x, depth + 1)
            except ValueNotSerializable as exc:
                exc.keys.append(i)
                raise
            if y is not x:
                if out is None:
                    out = list(items)
                out[i] = y
        return items if out is None else out

    def _other(self, v: Any, t: type, depth: int) -> Any:
        encoder = _registered(t)
        if encoder is not None:
            return self.walk(encoder(v), depth + 1)
        np = self.np
        if np is not None:
            if isinstance(v, np.ndarray):
                return self._ndarray(v)
            if isinstance(v, np.generic):
                return self._scalar(v, depth)
        if isinstance(v, (bytes, bytearray)):
            return self._bytes(memoryview(v))
        if isinstance(v, memoryview):
            return self._memoryview(v)
        if isinstance(v, dict):
            return self._dict(v, depth)
        if isinstance(v, tuple):
            fields = getattr(t, "_fields", None)
            if fields is not None:  # a NamedTuple: an object
                return self._dict(dict(zip(fields, v)), depth)
            return self._list(v, depth)
        if isinstance(v, list):
            return self._list(v, depth)
        if isinstance(v, (set, frozenset)):
            return self._list(list(v), depth)
        if isinstance(v, _dt.datetime):
            if v.tzinfo is None or v.utcoffset() is None:
                return v.isoformat()  # a naive datetime names no instant: its ISO text
            return self._tag({TAG: "datetime", "iso": v.astimezone(_dt.timezone.utc).isoformat()})
        if isinstance(v, (_dt.date, _dt.time)):
            return v.isoformat()
        if isinstance(v, bool):
            return bool(v)
        if isinstance(v, int):  # an int subclass (IntEnum, IntFlag) as its number
            return self.walk(int(v), depth)
        if isinstance(v, float):
            return self.walk(float(v), depth)
        if isinstance(v, enum.Enum):
            return self.walk(v.value, depth + 1)
        if isinstance(v, str):
            return str(v)
        if isinstance(v, (decimal.Decimal, uuid.UUID)):
            return str(v)
        frame = self._pandas(v, t, depth)
        if frame is not None:
            return frame
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return self._dict({f.name: getattr(v, f.name) for f in dataclasses.fields(v)}, depth)
        for method in ("model_dump", "to_dict"):
            convert = getattr(v, method, None)
            if callable(convert) and not isinstance(v, type):
                return self.walk(convert(), depth + 1)
        raise ValueNotSerializable(f"a value of type {type_name(t)!r}", type_name(t))

    # -- numbers ----------------------------------------------------------------------

    def _bigint(self, v: int) -> Any:
        return self._tag({TAG: "bigint", "value": str(v)})

    def _scalar(self, v: Any, depth: int) -> Any:
        np = self.np
        if isinstance(v, np.bool_):
            return bool(v)
        if isinstance(v, np.integer):
            return self.walk(int(v), depth)
        if isinstance(v, np.floating):
            return self.walk(float(v), depth)
        if isinstance(v, np.datetime64):
            return str(v)
        if isinstance(v, np.str_):
            return str(v)
        if isinstance(v, np.bytes_):
            return self._bytes(memoryview(bytes(v)))
        t = type(v)
        raise ValueNotSerializable(f"a numpy scalar of type {type_name(t)!r}", type_name(t))

    # -- binary -----------------------------------------------------------------------

    def _bytes(self, view: memoryview) -> Any:
        return self._tag({TAG: "bytes", **self._data(view)})

    def _memoryview(self, view: memoryview) -> Any:
        if view.format in ("B", "b", "c") and view.ndim == 1:
            return self._bytes(view if view.c_contiguous else memoryview(view.tobytes()))
        dtype = _DTYPE_OF_FORMAT.get(view.format.lstrip("@=<"))
        if dtype is None or view.format.startswith((">", "!")):
            raise ValueNotSerializable(f"a memoryview of format {view.format!r}", "memoryview")
        data = view if view.c_contiguous else memoryview(view.tobytes()).cast(view.format)
        return self._tag({TAG: "ndarray", "dtype": dtype, "shape": list(view.shape), **self._data(data.cast("B"))})

    def _ndarray(self, a: Any) -> Any:
        np = self.np
        dtype = a.dtype
        if dtype.byteorder == ">":
            a = a.astype(dtype.newbyteorder("="))
            dtype = a.dtype
        name = dtype.name
        if name not in FORMATS:
            raise ValueNotSerializable(
                f"a numpy array of dtype {name}; only bool, integer and float32/float64 arrays "
                "travel as arrays (convert it with .astype(...), or send .tolist())",
                "numpy.ndarray",
            )
        if not a.flags.c_contiguous:
            a = np.ascontiguousarray(a)
        shape = list(a.shape)
        ref = None if self.inline else segment_of(a, self.outputs)
        if ref is not None:
            self.buffers.append(ref)
            return self._tag({TAG: "ndarray", "dtype": name, "shape": shape, "buffer": len(self.buffers) - 1})
        return self._tag({TAG: "ndarray", "dtype": name, "shape": shape, **self._data(memoryview(a.reshape(-1)).cast("B"))})

    def _data(self, view: memoryview) -> Dict[str, Any]:
        if self.inline:
            return {"base64": base64.b64encode(view).decode("ascii")}
        self.buffers.append(view)
        return {"buffer": len(self.buffers) - 1}

    def _pandas(self, v: Any, t: type, depth: int) -> Any:
        pd = sys.modules.get("pandas")
        if pd is None:
            return None
        if isinstance(v, pd.DataFrame):
            return self._dict({str(name): column for name, column in v.items()}, depth)
        if isinstance(v, pd.Series):
            if v.dtype.kind == "M":  # datetimes: as Python's (aware ones become Dates)
                return self._list(list(v.dt.to_pydatetime()), depth)
            values = v.to_numpy()
            if values.dtype.name in FORMATS:
                return self._ndarray(values)
            return self._list(values.tolist(), depth)
        return None

    def _tag(self, tagged: Dict[str, Any]) -> Dict[str, Any]:
        self.tags += 1
        return tagged


def _key(k: Any) -> str:
    if isinstance(k, str):
        return str(k)
    if isinstance(k, bool) or k is None:
        raise ValueNotSerializable(f"a dict key {k!r}; keys must be strings", type_name(type(k)))
    if isinstance(k, (int, float, decimal.Decimal, uuid.UUID, enum.Enum)):
        return str(k.value if isinstance(k, enum.Enum) else k)
    raise ValueNotSerializable(f"a dict key of type {type_name(type(k))!r}; keys must be strings", type_name(type(k)))


# -- decoding ------------------------------------------------------------------------------

BufferLookup = Callable[[int], Any]  # index -> bytes or a memoryview


def decode(text: bytes, tags: int, buffer: Optional[BufferLookup] = None, shared: Optional[Callable[[str], Any]] = None) -> Any:
    """A value of the value model as Python: bytes as ``bytes``, arrays as numpy arrays (or,
    without numpy, as memoryviews with format and shape), instants as aware datetimes."""
    if not text:
        return None
    if not tags:
        return _loads(text)
    return _loads(text, object_hook=_Untagger(buffer, shared).hook)


class _Untagger:
    __slots__ = ("buffer", "shared", "np")

    def __init__(self, buffer: Optional[BufferLookup], shared: Optional[Callable[[str], Any]]) -> None:
        self.buffer = buffer
        self.shared = shared
        self.np = _numpy()

    def hook(self, d: Dict[str, Any]) -> Any:
        kind = d.get(TAG)
        if kind is None:
            return d
        if kind == "bytes":
            return bytes(self._data(d))
        if kind == "ndarray":
            return self._ndarray(d)
        if kind == "datetime":
            return _dt.datetime.fromisoformat(str(d["iso"]).replace("Z", "+00:00"))
        if kind == "bigint":
            return int(d["value"])
        if kind == "object":
            return {str(k): v for k, v in d["entries"]}
        if kind == "shared" and self.shared is not None:
            return self.shared(str(d["name"]))
        raise ValueError(f"unknown tag {kind!r} in a value from the host")

    def _data(self, d: Dict[str, Any]) -> Any:
        if "base64" in d:
            return base64.b64decode(d["base64"])
        if self.buffer is None:
            raise ValueError("a tag names a buffer, and the value has none")
        return self.buffer(int(d["buffer"]))

    def _ndarray(self, d: Dict[str, Any]) -> Any:
        dtype = str(d["dtype"])
        fmt = FORMATS.get(dtype)
        if fmt is None:
            raise ValueError(f"an array of unknown dtype {dtype!r}")
        shape = [int(n) for n in d["shape"]]
        data = self._data(d)
        if type(data) is bytes:  # inside the message: copied once, so that the array is writable
            data = bytearray(data)
        np = self.np
        if np is not None:
            return np.frombuffer(data, dtype=np.dtype(dtype)).reshape(shape)
        view = memoryview(data).cast("B")
        if 0 in shape:
            return view.cast(fmt)  # memoryview cannot hold a shape with a zero: an empty 1-D view
        return view.cast(fmt, shape)


_NUMPY_MISSING: List[bool] = []  # [True] once an import of numpy failed


def _numpy() -> Any:
    """numpy, imported when an array first arrives (the adapter may not have imported it);
    None when it is not installed (arrays then arrive as memoryviews)."""
    if "numpy" in sys.modules:
        return sys.modules["numpy"]  # None when something blocked it
    if _NUMPY_MISSING:
        return None
    try:
        import numpy

        return numpy
    except ImportError:
        _NUMPY_MISSING.append(True)
        return None


def segment_buffers(buffers: Any, shm: Any) -> BufferLookup:
    """The lookup for a Value's buffers: inline bytes as they are; a segment mapped once per
    value, its buffers as views of the mapping."""
    mapped: Dict[str, Any] = {}

    def lookup(index: int) -> Any:
        buf = buffers[index]
        if buf.WhichOneof("where") != "segment":
            return buf.inline
        seg = buf.segment
        if shm is None:
            raise SegmentError("the host sent a shared-memory segment to a worker that has none")
        mapping = mapped.get(seg.name)
        if mapping is None:
            mapping = mapped[seg.name] = shm.map(seg.name)
        end = seg.offset + seg.length
        if end > len(mapping) and seg.length:
            raise SegmentError(f"segment {seg.name!r} holds {len(mapping)} bytes, not {end}")
        return memoryview(mapping)[seg.offset:end]

    return lookup

