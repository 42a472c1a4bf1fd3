"""Encoding of call arguments, results and errors; replies leave here serialized.

Successful replies are framed by hand (ExecuteReply.result, a Value of JSON text, buffers and a
tag count), which is byte-for-byte what ``ExecuteReply.SerializeToString`` gives but skips
building messages on the hot path. Errors use the generated classes.
"""
import json
import traceback
from typing import Any, Dict, List, Optional

from . import _values
from ._errors import BridgeError, PayloadTooLargeError, ResultNotSerializableError
from ._messages import pb2
from ._segments import SegmentError, SegmentRef, placed, shared_memory
from ._session import current_session

_ExecuteReply = pb2.ExecuteReply
_ErrorInfo = pb2.ErrorInfo

# Field tags (field number << 3 | wire type): ExecuteReply.result (StreamChunk.data too),
# Value.json, Value.buffers, Value.tags, Buffer.inline, Buffer.segment, Segment's three fields.
_TAG_RESULT = b"\x0a"
_TAG_JSON = b"\x0a"
_TAG_BUFFER = b"\x12"
_TAG_TAGS = b"\x18"
_TAG_INLINE = b"\x0a"
_TAG_SEGMENT = b"\x12"
_TAG_NAME, _TAG_OFFSET, _TAG_LENGTH = b"\x0a", b"\x10", b"\x18"
_SMALL_VARINTS = [bytes((i,)) for i in range(128)]
_dump_details = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=repr).encode
_current_session = current_session.get
_encode = _values.encode
_BYTES_TEXT = b'{"' + _values.TAG.encode() + b'":"bytes","buffer":0}'
_decode = _values.decode
_NotSerializable = _values.ValueNotSerializable


def decode_args(args: Any) -> Dict[str, Any]:
    """The keyword arguments of an ExecuteRequest (its ``args`` Value); unset means none."""
    value = decode_value(args)
    if value is None:
        return {}
    if type(value) is not dict:
        raise TypeError(f"the arguments must be an object, got {type(value).__name__}")
    return value


def decode_value(value: Any) -> Any:
    """The Python value of a ``Value`` message (None when it is unset)."""
    text = value.json
    if not text:
        return None
    tags = value.tags
    if not tags:
        return _decode(text, 0)
    shm = shared_memory()
    return _decode(text, tags, _values.segment_buffers(value.buffers, shm), _shared_reader(shm))


def _shared_reader(shm: Any) -> Any:
    def read(name: str) -> Any:
        from ._shared_values import open_shared

        return open_shared(name, shm)

    return read


def result_reply(tool: str, result: Any, limit: int, session: Any = None, by_reference: bool = True) -> bytes:
    """Serialized ExecuteReply for a tool's return value. Large buffers go to shared memory; an
    array on one of the output segments of the call's ``session`` (by default the current
    one) is named, not copied, unless ``by_reference`` is false (a stream's chunk: its tool
    goes on, and may write to the array again)."""
    if type(result) is bytes:
        shm = shared_memory()
        if shm is None or len(result) < shm.threshold:
            return _small_bytes_reply(tool, result, limit)
    if session is None:
        session = _current_session()
    outputs = session.outputs if session is not None and by_reference else None
    try:
        encoded = _encode(result, outputs)
    except _NotSerializable as exc:
        return bridge_error_reply(_not_serializable(tool, exc), limit)
    try:
        buffers, names = placed(encoded.buffers, shared_memory())
    except SegmentError as exc:
        return error_reply("SharedMemoryError", str(exc), "", {}, limit)
    value = _value_parts(encoded.json, buffers, encoded.tags)
    size = sum(len(part) if type(part) is bytes else part.nbytes for part in value)
    head = _TAG_RESULT + _varint(size)
    if size + len(head) > limit:
        _forget(names, outputs)
        return bridge_error_reply(_too_large(tool, size + len(head), limit), limit)
    _sent(names, outputs)
    return b"".join([head, *value])


def _small_bytes_reply(tool: str, data: bytes, limit: int) -> bytes:
    """The reply for a result that is just bytes, inside the message (a blob, a stream's chunk):
    framed without a walk, as _value_parts would frame it."""
    n = len(data)
    inline_head = _TAG_INLINE + _varint(n)
    buffer_head = _TAG_BUFFER + _varint(len(inline_head) + n) + inline_head
    size = len(_BYTES_VALUE_HEAD) + len(buffer_head) + n + len(_TAGS_ONE)
    head = _TAG_RESULT + _varint(size)
    if len(head) + size > limit:
        return bridge_error_reply(_too_large(tool, len(head) + size, limit), limit)
    return b"".join((head, _BYTES_VALUE_HEAD, buffer_head, data, _TAGS_ONE))


def value_message(value: Any, what: str, root: str = "value") -> Any:
    """A ``Value`` message for a value sent to the host (host-tool arguments, session state);
    TypeError naming ``what`` and where in it (from ``root``), when it cannot travel."""
    try:
        encoded = _encode(value)
    except _NotSerializable as exc:
        raise TypeError(f"{what}: {exc.where(root)} is {exc.problem}, which cannot be sent to the host") from None
    buffers, _ = placed(encoded.buffers, shared_memory())
    return pb2.Value(json=encoded.json, buffers=[_buffer_message(b) for b in buffers], tags=encoded.tags)


def drop_reply_segments(reply: bytes) -> None:
    """Removes the segments a serialized reply or stream chunk names: it will not be sent."""
    message = pb2.StreamChunk.FromString(reply)  # the layout of ExecuteReply too: data/result = 1
    if message.HasField("data"):
        drop_segments(message.data)


def drop_segments(message: Any) -> None:
    """Removes the segments a Value message sent to the host names: its call failed on the way,
    so the host may never read (and remove) them."""
    shm = shared_memory()
    for buf in message.buffers:
        if buf.WhichOneof("where") == "segment" and shm is not None:
            shm.remove(buf.segment.name)


def standalone_json(value: Any, what: str) -> bytes:
    """JSON text that holds all of ``value``, binary data included (as base64)."""
    try:
        return _encode(value, inline=True).json
    except _NotSerializable as exc:
        raise TypeError(f"{what}: {exc.where('value')} is {exc.problem}, which cannot be stored") from None


def _buffer_message(buf: Any) -> Any:
    if type(buf) is SegmentRef:
        return pb2.Buffer(segment=pb2.Segment(name=buf.name, offset=buf.offset, length=buf.length))
    return pb2.Buffer(inline=bytes(buf))


def _value_parts(text: bytes, buffers: List[Any], tags: int) -> List[Any]:
    parts: List[Any] = [_TAG_JSON, _varint(len(text)), text]
    for buf in buffers:
        if type(buf) is SegmentRef:
            name = buf.name.encode("ascii")
            segment = b"".join((
                _TAG_NAME, _varint(len(name)), name,
                _TAG_OFFSET, _varint(buf.offset), _TAG_LENGTH, _varint(buf.length),
            ))
            body = _TAG_SEGMENT + _varint(len(segment)) + segment
            parts += (_TAG_BUFFER, _varint(len(body)), body)
        else:
            head = _TAG_INLINE + _varint(buf.nbytes)
            parts += (_TAG_BUFFER, _varint(len(head) + buf.nbytes), head, buf)
    if tags:
        parts += (_TAG_TAGS, _varint(tags))
    return parts


def _sent(names: List[str], outputs: Optional[List[Any]]) -> None:
    """The reply names these segments: the host removes them once it has read them."""
    if outputs:
        for out in outputs:
            if out.name in names:
                out.sent = True


def _forget(names: List[str], outputs: Optional[List[Any]]) -> None:
    """A reply that will not go: the segments it made go now (output segments at the call's end)."""
    own = {out.name for out in outputs or ()}
    shm = shared_memory()
    for name in set(names) - own:
        shm.remove(name)


def exception_reply(exc: BaseException, limit: int) -> bytes:
    """Serialized ExecuteReply for an exception raised by a tool."""
    if isinstance(exc, BridgeError):
        return bridge_error_reply(exc, limit)
    cls = type(exc)
    tb = "".join(traceback.format_exception(cls, exc, exc.__traceback__))
    # The class names up the hierarchy let the host type JSONDecodeError as a ValueError.
    bases = [c.__name__ for c in cls.__mro__[1:] if c.__module__ == "builtins" and c not in (BaseException, object)]
    return error_reply(cls.__name__, _safe_str(exc), tb, {"module": cls.__module__, "bases": bases}, limit)


def bridge_error_reply(err: BridgeError, limit: int) -> bytes:
    """Serialized ExecuteReply for one of the bridge's own errors (no traceback)."""
    return error_reply(err.type_name, err.message, "", err.details, limit)


def error_reply(
    type_name: str, message: str, tb: str, details: Optional[Dict[str, Any]], limit: int
) -> bytes:
    """Serialized ExecuteReply carrying an ErrorInfo; long texts are clipped so the whole
    reply stays well under ``limit`` bytes (message and traceback take a quarter each at most)."""
    cap = limit // 4
    info = _ErrorInfo(
        type=type_name,
        message=_clip(message, cap),
        traceback=_clip(tb, cap),
        details_json=_dump_details(details or {}).encode("utf-8", "surrogatepass"),
    )
    return _ExecuteReply(error=info).SerializeToString()


def _too_large(tool: str, size: int, limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"encoded result of tool {tool!r} is {size} bytes, over the limit of {limit} bytes "
        "(--max-message-bytes)",
        {"size": size, "limit": limit},
    )


def _not_serializable(tool: str, exc: Any) -> ResultNotSerializableError:
    where = exc.where("result")
    return ResultNotSerializableError(
        f"tool {tool!r} returned a result that cannot be sent: {where} is {exc.problem} "
        "(return JSON values, bytes, numpy arrays, dates, dataclasses; or register an encoder "
        "for the type with snakepit_bridge.register_encoder)",
        {"type": exc.type_name, "path": where} if exc.type_name else {"path": where},
    )


def _safe_str(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return f"<unprintable {type(exc).__name__}>"


def _clip(text: str, cap: int) -> str:
    """``text`` cut to at most ``cap`` bytes of UTF-8, saying how much was cut."""
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= cap:
        return text
    kept = encoded[: max(0, cap - 64)].decode("utf-8", "ignore")
    return f"{kept}... [{len(encoded) - len(kept.encode('utf-8', 'surrogatepass'))} bytes truncated]"


def _varint(n: int) -> bytes:
    if n < 128:
        return _SMALL_VARINTS[n]
    out = bytearray()
    while n >= 128:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


# -- JSON sent to the host (events) ----------------------------------------------------

def dump_json(value: Any, what: str) -> bytes:
    """UTF-8 JSON for a plain JSON value sent to the host (event measurements and metadata);
    TypeError (naming ``what``) when it is not one."""
    try:
        return _dump_json(value).encode("utf-8", "surrogatepass")
    except (TypeError, ValueError, RecursionError) as exc:
        raise TypeError(f"{what} must be JSON-serialisable: {exc}") from None


def _reject(obj: Any) -> Any:
    raise TypeError(f"it contains a value of type {_values.type_name(type(obj))!r}")


_dump_json = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_reject).encode


# A value that is bytes and nothing else: its JSON text, then (after its buffer) one tag.
_BYTES_VALUE_HEAD = _TAG_JSON + _varint(len(_BYTES_TEXT)) + _BYTES_TEXT
_TAGS_ONE = _TAG_TAGS + _varint(1)
