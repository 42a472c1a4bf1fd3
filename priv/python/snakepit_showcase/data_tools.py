"""Tools that move data: arrays, bytes and rich values both ways (numpy is imported on use)."""
import dataclasses
import datetime as dt
import decimal
import enum
import time
import uuid
from typing import Any, Dict, Iterator, List, NamedTuple

from snakepit_bridge import output_array, register_encoder, tool


@dataclasses.dataclass
class Measurement:
    name: str
    values: Any


class Pair(NamedTuple):
    left: int
    right: str


class Color(enum.Enum):
    RED = "red"


class Modelish:
    """Stands for a pydantic model: what has model_dump() travels as what it returns."""

    def model_dump(self) -> Dict[str, Any]:
        return {"kind": "model", "when": dt.date(2024, 5, 6)}


class Point:
    """A type of the adapter's own, sent through a registered encoder."""

    def __init__(self, x: float, y: float) -> None:
        self.x, self.y = x, y


register_encoder(Point, lambda p: {"x": p.x, "y": p.y})


def _describe(value: Any) -> Any:
    """What a value is on the Python side, for the host to check."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return {"type": "ndarray", "dtype": value.dtype.name, "shape": list(value.shape), "writable": bool(value.flags.writeable)}
    if isinstance(value, memoryview):
        return {"type": "memoryview", "format": value.format, "shape": list(value.shape)}
    if isinstance(value, dict):
        return {k: _describe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_describe(v) for v in value]
    if isinstance(value, dt.datetime):
        return {"type": "datetime", "iso": value.isoformat(), "aware": value.tzinfo is not None}
    return {"type": type(value).__name__}


class DataTools:
    @tool
    def describe(self, params: Dict[str, Any]) -> Any:
        """The Python type of each argument (arrays: dtype, shape, writable)."""
        return _describe(params)

    @tool
    def sizes(self, data: bytes, when: dt.datetime) -> Dict[str, Any]:
        """How many bytes came, and the year of a date (typed arguments: over HTTP, base64 and ISO text)."""
        return {"bytes": len(data), "year": when.year, "aware": when.tzinfo is not None}

    @tool
    def array_sum(self, data: Any) -> float:
        """The sum of an array."""
        import numpy as np

        return float(np.sum(data, dtype=np.float64))

    @tool
    def scale(self, data: Any, factor: float = 2.0) -> Any:
        """A new array: data * factor, of data's dtype."""
        return (data * factor).astype(data.dtype)

    @tool
    def mutate(self, data: Any) -> Any:
        """Writes into the argument array (a private copy of its pages), returns its sum after."""
        data[...] = 1
        return float(data.sum())

    @tool
    def filled(self, n: int, dtype: str = "float32", shape: Any = None) -> Any:
        """An array made in shared memory with output_array: 0, 1, 2, … (n elements)."""
        import numpy as np

        out = output_array(shape or n, dtype)
        out.reshape(-1)[:] = np.arange(n, dtype=dtype)
        return out

    @tool
    def filled_then_fail(self, n: int) -> None:
        """Makes an output array, then raises: its segment must not outlive the call."""
        output_array(n, "float32")
        raise ValueError("failed after making an output array")

    @tool
    def filled_then_sleep(self, n: int, ms: float, data: Any = None) -> Any:
        """Makes an output array, then sleeps (to be killed mid-call); ``data`` is ignored."""
        out = output_array(n, "float32")
        time.sleep(ms / 1000)
        return out

    @tool
    def rich_values(self) -> Dict[str, Any]:
        """One of each type the bridge sends to the host."""
        import numpy as np

        arrays = {name: np.arange(4).astype(name).reshape(2, 2) for name in
                  ("bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64")}
        return {
            "arrays": arrays,
            "fortran": np.asfortranarray(np.arange(6, dtype="float64").reshape(2, 3)),
            "big_endian": np.arange(3, dtype=">i4"),
            "empty": np.zeros((0, 3), dtype="float32"),
            "scalars": {"i": np.int64(7), "big": np.int64(2**62), "f": np.float32(0.5), "b": np.bool_(True), "u": np.uint8(255)},
            "big_int": 2**70,
            "bytes": [b"\x00\x01", bytearray(b"ab"), memoryview(b"xyz")],
            "when": dt.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=dt.timezone.utc),
            "naive": dt.datetime(2024, 1, 2, 3, 4, 5),
            "day": dt.date(2024, 1, 2),
            "decimal": decimal.Decimal("1.10"),
            "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
            "set": {3},
            "tuple": (1, "a"),
            "dataclass": Measurement("m", np.array([1.5], dtype="float32")),
            "named": Pair(1, "r"),
            "enum": Color.RED,
            "model": Modelish(),
            "point": Point(1.0, 2.0),
            "reserved": {"$snakepit": "user data", "n": 1},
        }

    @tool
    def frame(self) -> Any:
        """A pandas DataFrame (when pandas is installed)."""
        import pandas as pd

        return pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5], "c": ["x", "y"]})

    @tool
    def unsendable(self) -> Any:
        """A result with something no encoder knows, deep inside."""
        return {"items": [1, 2, 3, {"model": object()}]}

    @tool(supports_streaming=True)
    def array_chunks(self, n: int, size: int) -> Iterator[Any]:
        """n arrays of `size` float32 each, the i-th filled with i."""
        import numpy as np

        for i in range(n):
            yield np.full(size, i, dtype="float32")

    @tool(supports_streaming=True)
    def reused_output(self, n: int, size: int) -> Iterator[Any]:
        """n chunks from ONE output array, refilled with i before each yield."""
        out = output_array(size, "float32")
        for i in range(n):
            out[:] = i
            yield out

    @tool
    def scale_after(self, data: Any, ms: float) -> Any:
        """data * 2, after a sleep (its caller may have given up by then)."""
        time.sleep(ms / 1000)
        return data * 2

    @tool
    def similarity(self, query: Any, embeddings: Any) -> Any:
        """Cosine similarity of a query vector with each row of an embeddings matrix."""
        import numpy as np

        norms = np.linalg.norm(embeddings, axis=1) * np.linalg.norm(query)
        return (embeddings @ query / np.where(norms == 0, 1, norms)).astype("float32")

    @tool
    def keep_in_state(self, key: str, value: Any) -> Any:
        """Stores a value in the session's state and reads it back."""
        ctx = self.session_context  # type: ignore[attr-defined]
        ctx.set_state(key, value)
        return _describe({"stored": ctx.get_state(key)})

    @tool
    def through_host_tool(self, name: str, value: Any) -> Any:
        """Calls a host tool with a value; returns what it answered."""
        return self.session_context.call_host_tool(name, value=value)  # type: ignore[attr-defined]


__all__: List[str] = ["DataTools"]
