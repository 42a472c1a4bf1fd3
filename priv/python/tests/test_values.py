"""The value model, Python side (snakepit_bridge._values): what each Python type becomes on the
wire, what each tag becomes back, and what is refused, with where it sits."""
import collections
import dataclasses
import datetime as dt
import decimal
import enum
import importlib.util
import json
import sys
import typing
import unittest
import uuid
from unittest import mock

import numpy as np

from tests import PRIV_PYTHON  # noqa: F401  (sys.path)
from tests.support import ensure_stubs

values = None
DTYPES = ["bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64"]


def setUpModule():
    global values
    ensure_stubs()
    from snakepit_bridge import _values

    values = _values


def tree(value, **options):
    """The JSON text of ``value`` as the host parses it."""
    return json.loads(values.encode(value, **options).json)


def round_trip(value):
    """``value`` encoded, then decoded from copies of its buffers (as bytes inside a message)."""
    encoded = values.encode(value)
    return values.decode(encoded.json, encoded.tags, lambda i: bytes(encoded.buffers[i]))


def refusal(value, root="result"):
    """The ValueNotSerializable encoding ``value`` raises, and where it says the value sits."""
    try:
        values.encode(value)
    except values.ValueNotSerializable as exc:
        return exc, exc.where(root)
    raise AssertionError(f"{value!r} was encoded")


def registered(test, cls, encode):
    """register_encoder for the length of one test."""
    values.register_encoder(cls, encode)

    def unregister():
        values._encoders.pop(cls, None)
        values._encoder_for.clear()

    test.addCleanup(unregister)


class Point(typing.NamedTuple):
    x: int
    y: int


@dataclasses.dataclass
class Box:
    name: str
    size: Point
    tags: list = dataclasses.field(default_factory=list)


class Colour(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Model:
    def model_dump(self):
        return {"kind": "pydantic-like", "at": dt.date(2024, 1, 2)}


class Frame:
    def to_dict(self):
        return {"kind": "to_dict"}


class JsonTest(unittest.TestCase):
    def test_plain_json_has_no_tags_and_no_buffers(self):
        value = {"a": 1, "b": [True, None, "x", 2.5], "c": {}, "d": []}
        encoded = values.encode(value)
        self.assertEqual((encoded.json, encoded.tags, encoded.buffers), (b'{"a":1,"b":[true,null,"x",2.5],"c":{},"d":[]}', 0, []))
        self.assertEqual(values.decode(encoded.json, 0), value)

    def test_text_is_utf8_without_escapes(self):
        self.assertEqual(values.encode({"k": "\u6c49 é"}).json, '{"k":"\u6c49 é"}'.encode("utf-8"))

    def test_ints_beyond_2_to_the_53_are_bigint_tags(self):
        limit = 2**53 - 1
        self.assertEqual(tree([limit, -limit]), [limit, -limit])
        self.assertEqual(tree(2**53), {"$snakepit": "bigint", "value": "9007199254740992"})
        self.assertEqual(tree(-(2**70)), {"$snakepit": "bigint", "value": str(-(2**70))})
        self.assertEqual(round_trip({"n": 2**64 + 1}), {"n": 2**64 + 1})

    def test_nan_and_the_infinities_are_refused(self):
        for number in (float("nan"), float("inf"), -float("inf")):
            exc, where = refusal({"scores": [0.5, number]})
            self.assertEqual(where, "result.scores[1]")
            self.assertIn("JSON has no such number", str(exc))


class BinaryTest(unittest.TestCase):
    def test_bytes_bytearray_and_memoryview_travel_beside_the_text(self):
        for data in (b"\x00\x01\xff", bytearray(b"\x00\x01\xff"), memoryview(b"\x00\x01\xff")):
            encoded = values.encode({"data": data})
            self.assertEqual(json.loads(encoded.json), {"data": {"$snakepit": "bytes", "buffer": 0}})
            self.assertEqual(bytes(encoded.buffers[0]), b"\x00\x01\xff")
            self.assertEqual(round_trip(data), b"\x00\x01\xff")

    def test_a_strided_memoryview_sends_the_bytes_it_shows(self):
        self.assertEqual(round_trip(memoryview(b"abcdef")[::2]), b"ace")

    def test_a_typed_memoryview_is_an_ndarray(self):
        view = memoryview(np.arange(6, dtype=np.int32).tobytes()).cast("i", [2, 3])
        self.assertEqual(tree(view), {"$snakepit": "ndarray", "dtype": "int32", "shape": [2, 3], "buffer": 0})
        np.testing.assert_array_equal(round_trip(view), np.arange(6, dtype=np.int32).reshape(2, 3))

    def test_a_big_endian_memoryview_is_refused(self):
        exc, _ = refusal(memoryview(np.array([1], dtype=">i4")))
        self.assertIn("format '>i'", str(exc))

    def test_inline_puts_base64_in_the_text(self):
        encoded = values.encode({"b": b"hi", "a": np.array([1, -1], dtype=np.int16)}, inline=True)
        self.assertEqual(encoded.buffers, [])
        self.assertEqual(json.loads(encoded.json), {
            "b": {"$snakepit": "bytes", "base64": "aGk="},
            "a": {"$snakepit": "ndarray", "dtype": "int16", "shape": [2], "base64": "AQD//w=="},
        })
        back = values.decode(encoded.json, encoded.tags)
        self.assertEqual(back["b"], b"hi")
        np.testing.assert_array_equal(back["a"], [1, -1])


class NumpyTest(unittest.TestCase):
    def test_every_dtype_both_ways(self):
        for name in DTYPES:
            with self.subTest(dtype=name):
                array = (np.arange(6) % 2 == 0 if name == "bool" else np.arange(6)).astype(name).reshape(3, 2)
                encoded = values.encode(array)
                self.assertEqual(json.loads(encoded.json), {"$snakepit": "ndarray", "dtype": name, "shape": [3, 2], "buffer": 0})
                self.assertEqual(bytes(encoded.buffers[0]), array.tobytes())
                back = round_trip(array)
                self.assertEqual(back.dtype, array.dtype)
                np.testing.assert_array_equal(back, array)
                self.assertTrue(back.flags.writeable)

    def test_fortran_order_strided_and_big_endian_arrays_arrive_as_their_values(self):
        base = np.arange(12, dtype=np.float64).reshape(3, 4)
        for array in (np.asfortranarray(base), base[:, ::2], base.astype(">f8"), base.T):
            with self.subTest(flags=str(array.flags.f_contiguous), dtype=str(array.dtype)):
                back = round_trip(array)
                self.assertEqual(back.dtype, np.float64)
                self.assertTrue(back.dtype.isnative)
                np.testing.assert_array_equal(back, array)

    def test_scalar_and_empty_arrays_keep_their_shape(self):
        self.assertEqual(tree(np.array(2.5))["shape"], [])
        self.assertEqual(round_trip(np.array(2.5)).shape, ())
        empty = round_trip(np.zeros((0, 3), dtype=np.int32))
        self.assertEqual((empty.shape, empty.dtype), ((0, 3), np.int32))

    def test_other_dtypes_are_refused(self):
        for array in (np.zeros(2, np.float16), np.zeros(2, np.complex64), np.array(["a"]), np.array([None])):
            with self.subTest(dtype=str(array.dtype)):
                exc, _ = refusal({"a": array})
                self.assertIn(f"dtype {array.dtype.name}", str(exc))
                self.assertEqual(exc.type_name, "numpy.ndarray")

    def test_numpy_scalars_are_json_numbers(self):
        self.assertEqual(
            tree([np.int8(-3), np.uint64(7), np.float32(1.5), np.float64(-2.0), np.bool_(True), np.datetime64("2024-01-02")]),
            [-3, 7, 1.5, -2.0, True, "2024-01-02"],
        )
        self.assertEqual(tree(np.uint64(2**63)), {"$snakepit": "bigint", "value": str(2**63)})
        self.assertIn("JSON has no such number", str(refusal(np.float64("nan"))[0]))
        self.assertIn("numpy scalar", str(refusal(np.complex128(1j))[0]))
        labels = np.array(["cat"])[0]
        self.assertEqual(tree({"label": labels, "raw": np.bytes_(b"ab")}), {"label": "cat", "raw": {"$snakepit": "bytes", "buffer": 0}})


class OtherTypesTest(unittest.TestCase):
    def test_aware_datetimes_are_instants_in_utc(self):
        when = dt.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=dt.timezone(dt.timedelta(hours=2)))
        self.assertEqual(tree(when), {"$snakepit": "datetime", "iso": "2024-01-02T01:04:05.678000+00:00"})
        back = round_trip({"at": when})["at"]
        self.assertEqual(back, when)
        self.assertEqual(back.utcoffset(), dt.timedelta(0))

    def test_naive_datetimes_dates_and_times_are_iso_text(self):
        self.assertEqual(
            tree([dt.datetime(2024, 1, 2, 3, 4), dt.date(2024, 1, 2), dt.time(3, 4, 5)]),
            ["2024-01-02T03:04:00", "2024-01-02", "03:04:05"],
        )

    def test_decimal_uuid_and_enums(self):
        ident = uuid.UUID(int=1)
        self.assertEqual(tree([decimal.Decimal("1.10"), ident, Colour.RED, Level.HIGH]), ["1.10", str(ident), "red", 3])

    def test_sets_and_tuples_are_lists(self):
        self.assertEqual(sorted(tree({3, 1, 2})), [1, 2, 3])
        self.assertEqual(tree(frozenset(["a"])), ["a"])
        self.assertEqual(tree((1, (2, "x"))), [1, [2, "x"]])

    def test_named_tuples_and_dataclasses_are_objects(self):
        Pair = collections.namedtuple("Pair", "left right")
        self.assertEqual(tree([Point(1, 2), Pair("l", "r")]), [{"x": 1, "y": 2}, {"left": "l", "right": "r"}])
        self.assertEqual(tree(Box("b", Point(3, 4), [b"x"])), {
            "name": "b", "size": {"x": 3, "y": 4}, "tags": [{"$snakepit": "bytes", "buffer": 0}],
        })

    def test_objects_with_model_dump_or_to_dict(self):
        self.assertEqual(tree([Model(), Frame()]), [{"kind": "pydantic-like", "at": "2024-01-02"}, {"kind": "to_dict"}])

    def test_classes_and_other_objects_are_refused_with_their_type(self):
        for value, name in ((object(), "object"), (Box, "type"), (Model, "type"), (1j, "complex")):
            with self.subTest(name=name):
                exc, _ = refusal(value)
                self.assertEqual(exc.type_name, name)
                self.assertIn(f"a value of type {name!r}", str(exc))


class RegisterEncoderTest(unittest.TestCase):
    class Money:
        def __init__(self, cents):
            self.cents = cents

    class Euros(Money):
        pass

    def test_a_registered_class_and_its_subclasses_travel_as_the_encoder_says(self):
        Money, Euros = self.Money, self.Euros
        self.assertIsInstance(refusal(Money(1))[0], values.ValueNotSerializable)  # a lookup before registering
        registered(self, Money, lambda m: {"cents": m.cents, "raw": m.cents.to_bytes(2, "big")})
        self.assertEqual(tree([Money(5), Euros(7)]), [
            {"cents": 5, "raw": {"$snakepit": "bytes", "buffer": 0}},
            {"cents": 7, "raw": {"$snakepit": "bytes", "buffer": 1}},
        ])

    def test_the_nearest_registered_class_wins_and_supported_types_may_be_overridden(self):
        registered(self, self.Money, lambda m: "money")
        registered(self, self.Euros, lambda m: "euros")
        registered(self, decimal.Decimal, float)
        self.assertEqual(tree([self.Money(1), self.Euros(1), decimal.Decimal("1.5")]), ["money", "euros", 1.5])

    def test_an_encoder_that_returns_its_input_is_stopped_by_the_depth_limit(self):
        registered(self, self.Money, lambda m: m)
        self.assertIn("levels deep", str(refusal(self.Money(1))[0]))

    def test_refuses_what_is_not_a_class_and_a_callable(self):
        with self.assertRaises(TypeError):
            values.register_encoder(self.Money(1), str)
        with self.assertRaises(TypeError):
            values.register_encoder(self.Money, "str")


class KeysTest(unittest.TestCase):
    def test_keys_become_strings(self):
        self.assertEqual(
            tree({1: "int", 1.5: "float", decimal.Decimal("2.5"): "dec", uuid.UUID(int=0): "uuid", Colour.RED: "enum", Level.HIGH: "int enum"}),
            {"1": "int", "1.5": "float", "2.5": "dec", str(uuid.UUID(int=0)): "uuid", "red": "enum", "3": "int enum"},
        )

    def test_keys_that_are_no_strings_are_refused(self):
        for key in (True, None, (1, 2), b"k"):
            with self.subTest(key=key):
                exc, where = refusal({"outer": {key: 1}})
                self.assertIn("keys must be strings", str(exc))
                self.assertEqual(where, "result.outer")

    def test_an_own_snakepit_key_is_escaped_and_restored(self):
        value = {"$snakepit": "bytes", "buffer": 0}
        self.assertEqual(tree(value), {"$snakepit": "object", "entries": [["$snakepit", "bytes"], ["buffer", 0]]})
        nested = [{"$snakepit": {"$snakepit": None}, "at": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)}]
        self.assertEqual(round_trip(nested), nested)
        self.assertEqual(values.encode(nested).tags, 3)


class WhereTest(unittest.TestCase):
    def test_the_path_of_what_is_refused(self):
        cases = [
            ({"items": [0, 1, 2, {"model": object()}]}, "result.items[3].model"),
            ({"a b": {"1x": [{"ok_": float("nan")}]}}, 'result["a b"]["1x"][0].ok_'),
            ({2: [Point(1, float("inf"))]}, 'result["2"][0].y'),
            ((0, {"\u6c49": {1j}}), "result[1].\u6c49[0]"),
            (Box("b", Point(0, 0), [object()]), "result.tags[0]"),
        ]
        for value, path in cases:
            with self.subTest(path=path):
                self.assertEqual(refusal(value)[1], path)

    def test_the_root_is_named_by_the_caller(self):
        self.assertEqual(refusal([object()])[0].where("chunk"), "chunk[0]")


class DepthTest(unittest.TestCase):
    @staticmethod
    def nested(levels):
        value = 1
        for i in range(levels):
            value = [value] if i % 2 else {"v": value}
        return value

    def test_nesting_up_to_the_limit_travels_and_past_it_is_refused(self):
        deep = self.nested(values.MAX_DEPTH)
        self.assertEqual(round_trip(deep), deep)
        exc, _ = refusal(self.nested(values.MAX_DEPTH + 1))
        self.assertIn(f"nested more than {values.MAX_DEPTH} levels deep", str(exc))

    def test_cycles_are_refused(self):
        loop = {"a": []}
        loop["a"].append(loop)
        exc, where = refusal(loop)
        self.assertIn("or a cycle", str(exc))
        self.assertTrue(where.startswith("result.a[0].a[0]"))


class DecodeTest(unittest.TestCase):
    def decode(self, tag, buffers=(), shared=None):
        return values.decode(json.dumps(tag).encode(), 1, lambda i: buffers[i], shared)

    def test_each_tag(self):
        self.assertEqual(self.decode({"$snakepit": "bytes", "buffer": 0}, [b"ab"]), b"ab")
        self.assertEqual(self.decode({"$snakepit": "bigint", "value": "-123456789012345678901"}), -123456789012345678901)
        when = self.decode({"$snakepit": "datetime", "iso": "2026-01-02T03:04:05.678Z"})
        self.assertEqual(when, dt.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=dt.timezone.utc))
        self.assertEqual(self.decode({"$snakepit": "object", "entries": [["$snakepit", 1], ["__proto__", {}]]}), {"$snakepit": 1, "__proto__": {}})
        self.assertEqual(self.decode({"$snakepit": "shared", "name": "s1"}, shared=lambda name: f"shared {name}"), "shared s1")

    def test_an_ndarray_from_a_message_is_a_writable_copy(self):
        data = np.array([1.5, -2.0], dtype=np.float32).tobytes()
        array = self.decode({"$snakepit": "ndarray", "dtype": "float32", "shape": [2, 1], "buffer": 0}, [data])
        self.assertEqual((array.shape, array.dtype), ((2, 1), np.float32))
        array[0, 0] = 9
        self.assertEqual(data, np.array([1.5, -2.0], dtype=np.float32).tobytes())

    def test_an_ndarray_on_a_writable_buffer_is_a_view_of_it(self):
        memory = bytearray(np.arange(4, dtype=np.int64).tobytes())
        array = self.decode({"$snakepit": "ndarray", "dtype": "int64", "shape": [4], "buffer": 0}, [memoryview(memory)])
        array[0] = 42
        self.assertEqual(memory[:8], np.int64(42).tobytes())

    def test_ndarrays_from_base64(self):
        array = self.decode({"$snakepit": "ndarray", "dtype": "bool", "shape": [3], "base64": "AQAB"})
        np.testing.assert_array_equal(array, [True, False, True])
        self.assertTrue(array.flags.writeable)

    def test_a_tag_count_of_0_is_plain_json_and_no_text_is_none(self):
        self.assertEqual(values.decode(b'{"$snakepit":"bytes","buffer":0}', 0), {"$snakepit": "bytes", "buffer": 0})
        self.assertIsNone(values.decode(b"", 1))

    def test_refusals(self):
        cases = [
            ({"$snakepit": "nope"}, "unknown tag 'nope'"),
            ({"$snakepit": "shared", "name": "s1"}, "unknown tag 'shared'"),
            ({"$snakepit": "ndarray", "dtype": "float16", "shape": [1], "base64": "AAA="}, "unknown dtype 'float16'"),
        ]
        for tag, message in cases:
            with self.subTest(message=message):
                with self.assertRaisesRegex(ValueError, message):
                    self.decode(tag)
        with self.assertRaisesRegex(ValueError, "the value has none"):
            values.decode(b'{"$snakepit":"bytes","buffer":0}', 1)


class WithoutNumpyTest(unittest.TestCase):
    """A worker without numpy: arrays arrive as memoryviews with a format and a shape."""

    def setUp(self):
        patcher = mock.patch.dict(sys.modules, {"numpy": None})
        patcher.start()
        self.addCleanup(patcher.stop)

    def decode(self, dtype, shape, data):
        return values.decode(json.dumps({"$snakepit": "ndarray", "dtype": dtype, "shape": shape, "buffer": 0}).encode(), 1, lambda i: data)

    def test_arrays_are_memoryviews_with_format_and_shape(self):
        view = self.decode("int32", [2, 3], np.arange(6, dtype=np.int32).tobytes())
        self.assertIsInstance(view, memoryview)
        self.assertEqual((view.format, view.shape), ("i", (2, 3)))
        self.assertEqual(view.tolist(), [[0, 1, 2], [3, 4, 5]])
        view[0, 0] = 7  # a copy of the message's bytes: writable
        bools = self.decode("bool", [3], b"\x01\x00\x01")
        self.assertEqual((bools.format, bools.tolist()), ("?", [True, False, True]))

    def test_empty_and_zero_dimensional_arrays(self):
        empty = self.decode("float64", [0, 3], b"")
        self.assertEqual((empty.format, empty.nbytes), ("d", 0))
        scalar = self.decode("float64", [], memoryview(bytearray(8)).cast("d").tobytes())
        self.assertEqual((scalar.ndim, scalar.tolist()), (0, 0.0))

    def test_memoryviews_still_encode(self):
        view = memoryview(bytearray(8)).cast("d")
        self.assertEqual(tree(view), {"$snakepit": "ndarray", "dtype": "float64", "shape": [1], "buffer": 0})


@unittest.skipUnless(importlib.util.find_spec("pandas"), "pandas is not installed")
class PandasTest(unittest.TestCase):
    def test_frames_are_objects_of_columns_and_series_arrays_or_lists(self):
        import pandas as pd

        encoded = tree({"frame": pd.DataFrame({"n": [1, 2], "s": ["a", "b"]}), "series": pd.Series([0.5, 1.5])})
        self.assertEqual(encoded["frame"]["n"], {"$snakepit": "ndarray", "dtype": "int64", "shape": [2], "buffer": 0})
        self.assertEqual(encoded["frame"]["s"], ["a", "b"])
        self.assertEqual(encoded["series"], {"$snakepit": "ndarray", "dtype": "float64", "shape": [2], "buffer": 1})


if __name__ == "__main__":
    unittest.main()
