"""Encoding of call arguments, results and errors; replies leave here serialized.

Successful replies are framed by hand (two length-delimited fields around the
payload), which is byte-for-byte what ``ExecuteReply.SerializeToString`` gives
but skips building messages on the hot path. Errors use the generated classes.
"""
import json
import traceback
from typing import Any, Dict, Optional

from ._errors import BridgeError, PayloadTooLargeError, ResultNotSerializableError
from ._messages import pb2

_ExecuteReply = pb2.ExecuteReply
_ErrorInfo = pb2.ErrorInfo
_BYTES_LIKE = (bytes, bytearray, memoryview)

# Field tags (field number << 3 | wire type 2): ExecuteReply.result, Value.json, Value.binary.
_TAG_RESULT = b"\x0a"
_TAG_JSON = b"\x0a"
_TAG_BINARY = b"\x12"
_SMALL_VARINTS = [bytes((i,)) for i in range(128)]


class _Unserializable(TypeError):
    def __init__(self, obj: Any) -> None:
        super().__init__(f"value of type {_type_name(type(obj))!r}")
        self.obj_type = type(obj)


def _reject(obj: Any) -> Any:
    raise _Unserializable(obj)


# Built once: compact, UTF-8 kept as is, NaN/Infinity refused (JavaScript's JSON has neither).
_dump_result = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_reject
).encode
_loads = json.loads
_dump_details = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=repr).encode


def decode_args(raw: bytes) -> Dict[str, Any]:
    """Parse ExecuteRequest.args_json; empty means no arguments."""
    if not raw:
        return {}
    args = _loads(raw)
    if type(args) is not dict:
        raise TypeError(f"args_json must be a JSON object, got {type(args).__name__}")
    return args


def result_reply(tool: str, result: Any, limit: int) -> bytes:
    """Serialized ExecuteReply for a tool's return value (JSON, or binary for bytes-like)."""
    if isinstance(result, _BYTES_LIKE):
        payload = result if type(result) is bytes else bytes(result)
        tag = _TAG_BINARY
    else:
        try:
            payload = _dump_result(result).encode("utf-8", "surrogatepass")
        except (TypeError, ValueError, RecursionError) as exc:
            return bridge_error_reply(_not_serializable(tool, exc), limit)
        tag = _TAG_JSON
    value_head = tag + _varint(len(payload))
    head = _TAG_RESULT + _varint(len(value_head) + len(payload)) + value_head
    size = len(head) + len(payload)
    if size > limit:
        return bridge_error_reply(_too_large(tool, size, limit), limit)
    return head + payload


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


def _not_serializable(tool: str, exc: BaseException) -> ResultNotSerializableError:
    if isinstance(exc, _Unserializable):
        what = _type_name(exc.obj_type)
        detail = f"it contains a value of type {what!r}"
    else:
        what = None
        detail = str(exc)
    return ResultNotSerializableError(
        f"tool {tool!r} returned a result that is not JSON-serialisable: {detail} "
        "(return JSON values, or bytes for binary data)",
        {"type": what} if what else {},
    )


def _type_name(cls: type) -> str:
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


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


# -- JSON values sent to and received from the host ---------------------------------

def dump_json(value: Any, what: str) -> bytes:
    """UTF-8 JSON for a value sent to the host; TypeError (naming ``what``) when it is not
    JSON-serialisable (unsupported types, NaN/Infinity, cycles)."""
    try:
        return _dump_result(value).encode("utf-8", "surrogatepass")
    except _Unserializable as exc:
        raise TypeError(
            f"{what} must be JSON-serialisable; it contains a value of type "
            f"{_type_name(exc.obj_type)!r}"
        ) from None
    except (ValueError, RecursionError) as exc:
        raise TypeError(f"{what} must be JSON-serialisable: {exc}") from None


def decode_value(value: Any) -> Any:
    """The Python value of a ``Value`` message: decoded JSON, bytes for binary, None if unset."""
    kind = value.WhichOneof("kind")
    if kind == "json":
        return _loads(value.json)
    if kind == "binary":
        return value.binary
    return None
