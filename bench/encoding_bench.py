"""BENCH_ONLY=encoding, Python side: the value model (snakepit_bridge._values) against MessagePack
(msgpack, with extension types) on the same five values as bench/encoding.ts, encode and decode
timed apart, in the same process, the formats taking turns in every round.

- ours: ``_values.encode(value)``, then ``_values.decode(json, tags, lookup)`` where the lookup
  hands back the encoded buffers themselves (memoryviews: what a shared-memory segment gives);
- msgpack: one ``msgpack.Packer(default=..., datetime=True, autoreset=False)`` whose
  ``getbuffer()`` is the encoded value (aware datetimes as the timestamp extension, -1),
  ``msgpack.unpackb(..., ext_hook=..., timestamp=3)``; a numpy array is
  extension 2 (the layout of bench/encoding.ts), rebuilt with ``np.frombuffer`` on the
  extension's bytes; ints up to 64 bits are msgpack's own (an int beyond that: extension 1).

Prints one JSON object; bench/encoding.ts reads it. Without msgpack the msgpack figures are
absent (``"msgpack": null``); without numpy the array case is.

Run: ``PYTHONPATH=priv/python python3 bench/encoding_bench.py [rounds]``.
"""
import datetime as dt
import gc
import json
import struct
import sys
import time

from snakepit_bridge import _values

try:
    import numpy as np
except ImportError:  # the array case is skipped
    np = None
try:
    import msgpack
except ImportError:  # the msgpack figures are skipped
    msgpack = None

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 7
BATCH_SECONDS = 0.02  # one timed batch of encodes (or decodes) of one value takes about this
FLOATS = 2**18  # 1 MiB of float32

EXT_BIGINT = 1
EXT_NDARRAY = 2
DTYPE_CODES = {"float32": 1, "float64": 2, "int32": 3, "int64": 4, "uint8": 5}
DTYPE_OF_CODE = {code: name for name, code in DTYPE_CODES.items()}


# -- the values (the same as bench/encoding.ts builds) ---------------------------------------


def mixed_fields():
    out = {}
    for i in range(100):
        kind = i % 4
        if kind == 0:
            out[f"s{i}"] = f"value-{i}"
        elif kind == 1:
            out[f"n{i}"] = i * 1000 if i % 8 == 1 else i + 0.25
        elif kind == 2:
            out[f"b{i}"] = i % 3 == 0
        else:
            out[f"o{i}"] = {"x": i, "y": f"n{i}", "z": [i, i + 1]}
    return out


def records():
    return [{"id": i, "name": f"user-{i}", "score": (i * 37 % 1000) / 10, "tags": [f"t{i % 5}", f"t{i % 7}"]} for i in range(1000)]


def cases():
    out = {
        "tiny": {"a": 1, "b": 2},
        "mixed100": mixed_fields(),
        "records1000": records(),
    }
    if np is not None:
        out["array1MiB"] = {"id": "batch-1", "scale": 0.5, "normalize": True, "data": np.arange(FLOATS, dtype=np.float32) * np.float32(0.001)}
    out["dateBigint"] = {
        "id": 42,
        "name": "event",
        "when": dt.datetime(2024, 5, 1, 12, 34, 56, 789000, tzinfo=dt.timezone.utc),
        "big": 2**60 + 7,
        "ok": True,
    }
    return out


# -- the formats ------------------------------------------------------------------------------


def ours():
    encode, decode = _values.encode, _values.decode

    def enc(value):
        return encode(value)

    def dec(encoded):
        return decode(encoded.json, encoded.tags, encoded.buffers.__getitem__)

    def size(encoded):
        return len(encoded.json) + sum(len(b) for b in encoded.buffers)

    def source(encoded):  # the bytes a decode reads its array from
        return encoded.buffers[0]

    return enc, dec, size, source


def msgpack_format():
    def default(obj):
        if np is not None and isinstance(obj, np.ndarray):
            a = np.ascontiguousarray(obj)
            # dtype, ndim, padding, the dims (u32 LE), the padding: the data at an offset that is a
            # multiple of 8 of the extension's bytes (which unpackb makes a bytes object of).
            fixed = 3 + 4 * a.ndim
            pad = -fixed % 8
            header = struct.pack(f"<BBB{a.ndim}I{pad}x", DTYPE_CODES[a.dtype.name], a.ndim, pad, *a.shape)
            return msgpack.ExtType(EXT_NDARRAY, b"".join((header, memoryview(a.reshape(-1)).cast("B"))))
        if isinstance(obj, int):  # beyond 64 bits (msgpack packs the others itself)
            return msgpack.ExtType(EXT_BIGINT, str(obj).encode("ascii"))
        raise TypeError(f"cannot pack {type(obj).__name__}")

    def ext_hook(code, data):
        if code == EXT_NDARRAY:
            ndim, pad = data[1], data[2]
            shape = struct.unpack_from(f"<{ndim}I", data, 3)
            # np.frombuffer views `data` (no copy of its own); `data` is the unpacker's copy.
            return np.frombuffer(data, dtype=DTYPE_OF_CODE[data[0]], offset=3 + 4 * ndim + pad).reshape(shape)
        if code == EXT_BIGINT:
            return int(data)
        return msgpack.ExtType(code, data)

    # autoreset=False and getbuffer(): the packed bytes as a view of the packer's buffer, not a
    # copy out of it (msgpack's best case, as encodeSharedRef is in bench/encoding.ts); the view
    # is valid until the next encode, and is released before it.
    packer = msgpack.Packer(default=default, datetime=True, use_bin_type=True, autoreset=False)
    unpackb = msgpack.unpackb

    def enc(value):
        packer.reset()
        packer.pack(value)
        return packer.getbuffer()

    def dec(packed):
        return unpackb(packed, ext_hook=ext_hook, timestamp=3, raw=False, strict_map_key=True)

    return enc, dec, len, lambda packed: packed


# -- timing -----------------------------------------------------------------------------------


def batch_us(step, arg, count):
    """µs per call of ``count`` calls of step(arg), the collector off (as timeit does)."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter_ns()
        for _ in range(count):
            step(arg)
        return (time.perf_counter_ns() - start) / count / 1000
    finally:
        gc.enable()


def calibrate(step, arg):
    count = 1
    while True:
        us = batch_us(step, arg, count)
        if us * count >= BATCH_SECONDS * 1e6 / 4 or count >= 1 << 20:
            return max(1, int(BATCH_SECONDS * 1e6 / us))
        count *= 4


def median(values):
    s = sorted(values)
    return s[len(s) // 2]


def normal(v):
    """A value comparable with ==: arrays as (dtype, shape, bytes)."""
    if np is not None and isinstance(v, np.ndarray):
        return ("ndarray", v.dtype.name, v.shape, v.tobytes())
    if isinstance(v, dict):
        return {k: normal(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [normal(x) for x in v]
    return v


def main():
    values = cases()
    formats = {"ours": ours()}
    if msgpack is not None:
        formats["msgpack"] = msgpack_format()
    plan = {}  # (case, format) -> encode count, decode count, encoded
    figures = {case: {} for case in values}
    for case, value in values.items():
        for name, (enc, dec, size, source) in formats.items():
            encoded = enc(value)
            if isinstance(encoded, memoryview):  # msgpack's view of its packer's buffer: a copy of our own
                view, encoded = encoded, bytes(encoded)
                view.release()
            decoded = dec(encoded)
            if normal(decoded) != normal(value):
                raise SystemExit(f"{name} does not bring {case} back as it was")
            entry = {"bytes": size(encoded)}
            if case == "array1MiB":
                array = decoded["data"]
                entry["arrayViewsInput"] = bool(np.shares_memory(array, np.frombuffer(source(encoded), dtype=np.uint8)))
                entry["arrayWritable"] = bool(array.flags.writeable)
            figures[case][name] = entry
            plan[case, name] = (calibrate(enc, value), calibrate(dec, encoded), encoded)
    samples = {key: ([], []) for key in plan}
    for _ in range(ROUNDS):
        for (case, name), (enc_count, dec_count, encoded) in plan.items():
            enc, dec = formats[name][0], formats[name][1]
            samples[case, name][0].append(batch_us(enc, values[case], enc_count))
            samples[case, name][1].append(batch_us(dec, encoded, dec_count))
    for (case, name), (enc_us, dec_us) in samples.items():
        totals = [e + d for e, d in zip(enc_us, dec_us)]
        figures[case][name].update(encodeUs=median(enc_us), decodeUs=median(dec_us), totalUs=median(totals), totalMinUs=min(totals), totalMaxUs=max(totals))
    print(json.dumps({
        "python": sys.version.split()[0],
        "numpy": None if np is None else np.__version__,
        "msgpack": None if msgpack is None else ".".join(map(str, msgpack.version)),
        "rounds": ROUNDS,
        "cases": figures,
    }))


if __name__ == "__main__":
    main()
