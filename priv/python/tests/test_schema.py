"""JSON Schema from type hints, defaults and docstrings (snakepit_bridge._schema)."""
import collections.abc as abc
import dataclasses
import datetime as dt
import decimal
import enum
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import time
import types
import typing
import unittest
import unittest.mock
import uuid
from typing import (
    Any, AsyncGenerator, AsyncIterator, Dict, FrozenSet, Generator, Iterable, Iterator, List,
    Literal, Mapping, NamedTuple, Optional, Sequence, Set, Tuple, TypedDict, Union,
)

import numpy as np
import numpy.typing as npt
import pandas as pd

from tests import PRIV_PYTHON
from snakepit_bridge import BaseAdapter, tool
from snakepit_bridge import _schema as schema
from snakepit_bridge._schema import DIALECT, tool_schemas

HAS_PYDANTIC = importlib.util.find_spec("pydantic") is not None


def body(document):
    """A schema document without its ``$schema``."""
    return {k: v for k, v in document.items() if k != "$schema"}


def arg(hint, direction=schema.ARGUMENTS):
    """The schema of one hint, as a document's root (with its $defs)."""
    builder = schema._Builder(direction)
    return body(schema._finish(builder, schema._inline_root(builder, builder.schema(hint))))


def result(hint):
    return arg(hint, schema.RESULT)


def arguments(fn, streaming=False):
    return body(tool_schemas(fn, streaming=streaming)["arguments"])


# -- types used below (at module level, so that their names resolve) -------------------------


class Color(enum.Enum):
    """A colour."""

    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Perm(enum.IntFlag):
    R = 4
    W = 2


@dataclasses.dataclass
class Point:
    """A point.

    Attributes:
        x: across
        y: up
    """

    x: float
    y: float = 0.0
    tags: List[str] = dataclasses.field(default_factory=list)
    cached: int = dataclasses.field(default=0, init=False)


@dataclasses.dataclass
class Tree:
    name: str
    children: List["Tree"] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Ping:
    pong: Optional["Pong"] = None


@dataclasses.dataclass
class Pong:
    ping: Optional[Ping] = None


T = typing.TypeVar("T")


@dataclasses.dataclass
class Box(typing.Generic[T]):
    item: T


class Options(TypedDict, total=False):
    """Options of a search."""

    depth: int
    mode: Literal["fast", "exact"]


class Query(TypedDict):
    text: str
    limit: typing.NotRequired[int]


class Pair(NamedTuple):
    left: int
    right: str = "r"


class Opaque:
    pass


# -- primitives and unions -----------------------------------------------------------------


class Primitives(unittest.TestCase):
    def test_json_types(self):
        cases = {int: "integer", float: "number", str: "string", bool: "boolean", type(None): "null"}
        for hint, name in cases.items():
            with self.subTest(hint=hint):
                self.assertEqual(arg(hint), {"type": name})
        self.assertEqual(arg(None), {"type": "null"})

    def test_open_hints(self):
        for hint in (Any, object, inspect_empty(), T):
            with self.subTest(hint=hint):
                self.assertEqual(arg(hint), {})

    def test_type_var_with_bound_or_constraints(self):
        self.assertEqual(arg(typing.TypeVar("B", bound=int)), {"type": "integer"})
        self.assertEqual(arg(typing.TypeVar("C", int, str)), {"type": ["integer", "string"]})

    def test_new_type_and_subclasses_of_scalars(self):
        UserId = typing.NewType("UserId", str)
        self.assertEqual(arg(UserId), {"type": "string"})

        class Name(str):
            pass

        self.assertEqual(arg(Name), {"type": "string"})

    def test_optional_and_unions(self):
        self.assertEqual(arg(Optional[int]), {"type": ["integer", "null"]})
        self.assertEqual(arg(int | None), {"type": ["integer", "null"]})
        self.assertEqual(arg(Union[int, str, None]), {"type": ["integer", "string", "null"]})
        self.assertEqual(
            arg(Optional[List[int]]),
            {"anyOf": [{"type": "array", "items": {"type": "integer"}}, {"type": "null"}]},
        )
        self.assertEqual(arg(Union[int, Any]), {})

    def test_literal(self):
        self.assertEqual(arg(Literal["a"]), {"const": "a"})
        self.assertEqual(arg(Literal["a", "b", 3]), {"enum": ["a", "b", 3]})
        self.assertEqual(arg(Literal[1, True]), {"enum": [1, True]})  # 1 and True are not one value
        self.assertEqual(arg(Literal[Color.RED]), {"const": "red"})
        self.assertIn("no schema derived", arg(Literal[b"x"])["description"])

    def test_wrappers(self):
        for hint in (typing.Final[int], typing.ClassVar[int], typing.Awaitable[int], typing.Coroutine[Any, Any, int]):
            with self.subTest(hint=hint):
                self.assertEqual(arg(hint), {"type": "integer"})

    def test_annotated_strings_describe(self):
        hint = typing.Annotated[int, "how many", object()]
        self.assertEqual(arg(hint), {"type": "integer", "description": "how many"})
        self.assertEqual(arg(typing.Annotated[int, 3]), {"type": "integer"})


def inspect_empty():
    import inspect

    return inspect.Parameter.empty


# -- containers ----------------------------------------------------------------------------


class Containers(unittest.TestCase):
    def test_sequences(self):
        items = {"type": "array", "items": {"type": "integer"}}
        for hint in (list[int], List[int], Sequence[int], abc.Sequence[int], Iterable[int]):
            with self.subTest(hint=hint):
                self.assertEqual(arg(hint), items)
        for hint in (list, List, Sequence, abc.Sequence):
            with self.subTest(hint=hint):
                self.assertEqual(arg(hint), {"type": "array"})

    def test_sets(self):
        expected = {"type": "array", "items": {"type": "string"}, "uniqueItems": True}
        for hint in (set[str], Set[str], FrozenSet[str], abc.Set[str]):
            with self.subTest(hint=hint):
                self.assertEqual(arg(hint), expected)

    def test_tuples(self):
        self.assertEqual(
            arg(tuple[int, str]),
            {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}], "minItems": 2, "maxItems": 2},
        )
        self.assertEqual(arg(Tuple[float, ...]), {"type": "array", "items": {"type": "number"}})
        self.assertEqual(arg(tuple[()]), {"type": "array", "maxItems": 0})
        for hint in (tuple, Tuple):
            with self.subTest(hint=hint):
                self.assertEqual(arg(hint), {"type": "array"})

    def test_mappings(self):
        expected = {"type": "object", "additionalProperties": {"type": "number"}}
        for hint in (dict[str, float], Dict[str, float], Mapping[str, float], typing.OrderedDict[str, float]):
            with self.subTest(hint=hint):
                self.assertEqual(arg(hint), expected)
        self.assertEqual(arg(dict), {"type": "object"})
        self.assertEqual(arg(Dict[str, Any]), {"type": "object"})
        self.assertEqual(
            arg(Dict[Literal["a", "b"], int]),
            {"type": "object", "propertyNames": {"enum": ["a", "b"]}, "additionalProperties": {"type": "integer"}},
        )

    def test_nested(self):
        self.assertEqual(
            arg(Dict[str, List[Optional[int]]]),
            {"type": "object", "additionalProperties": {"type": "array", "items": {"type": ["integer", "null"]}}},
        )


# -- named types ---------------------------------------------------------------------------


class NamedTypes(unittest.TestCase):
    def test_enum(self):
        self.assertEqual(arg(Color), {"title": "Color", "description": "A colour.", "enum": ["red", "green"]})
        self.assertEqual(arg(Level), {"title": "Level", "enum": [1, 2]})
        self.assertEqual(arg(Perm), {"title": "Perm", "type": "integer"})

    def test_enum_used_twice_is_one_definition(self):
        doc = arg(List[Tuple[Color, Color]])
        ref = {"$ref": "#/$defs/Color"}
        self.assertEqual(doc["items"]["prefixItems"], [ref, ref])
        self.assertEqual(list(doc["$defs"]), ["Color"])

    def test_dataclass_as_argument(self):
        self.assertEqual(
            arg(Point),
            {
                "title": "Point",
                "description": "A point.",
                "type": "object",
                "properties": {
                    "x": {"type": "number", "description": "across"},
                    "y": {"type": "number", "description": "up", "default": 0.0},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["x"],
                "additionalProperties": False,
            },
        )

    def test_dataclass_as_result_has_every_field(self):
        doc = result(Point)
        self.assertEqual(list(doc["properties"]), ["x", "y", "tags", "cached"])
        self.assertEqual(doc["required"], ["x", "y", "tags", "cached"])

    def test_made_up_docstring_is_not_a_description(self):
        self.assertNotIn("description", arg(Tree))  # dataclass's "Tree(name: str, ...)"
        self.assertNotIn("description", arg(Pair))

    def test_recursive_dataclass(self):
        doc = arg(Tree)
        self.assertEqual(doc["$ref"], "#/$defs/Tree")
        self.assertEqual(doc["$defs"]["Tree"]["properties"]["children"], {"type": "array", "items": {"$ref": "#/$defs/Tree"}})

    def test_mutually_recursive_dataclasses(self):
        doc = arg(Ping)
        self.assertEqual(sorted(doc["$defs"]), ["Ping", "Pong"])
        self.assertEqual(
            doc["$defs"]["Pong"]["properties"]["ping"],
            {"anyOf": [{"$ref": "#/$defs/Ping"}, {"type": "null"}], "default": None},
        )

    def test_recursive_class_local_to_a_function(self):
        @dataclasses.dataclass
        class Local:
            value: int
            next: Optional["Local"] = None
            other: "Missing" = None  # noqa: F821

        doc = arg(Local)
        props = doc["$defs"]["Local"]["properties"]
        self.assertEqual(props["value"], {"type": "integer"})
        self.assertEqual(props["next"]["anyOf"][0], {"$ref": "#/$defs/Local"})
        self.assertEqual(props["other"]["description"], "unresolved type hint 'Missing'")

    def test_two_classes_with_one_name(self):
        first = Point

        @dataclasses.dataclass
        class Point2:
            z: int

        Point2.__name__ = "Point"
        doc = arg(Tuple[first, Point2])
        self.assertEqual(sorted(doc["$defs"]), ["Point", "Point2"])
        self.assertEqual(doc["$defs"]["Point2"]["properties"], {"z": {"type": "integer"}})

    def test_generic_dataclass(self):
        self.assertEqual(arg(Box[int])["properties"], {"item": {}})

    def test_typeddict(self):
        self.assertEqual(
            arg(Options),
            {
                "title": "Options",
                "description": "Options of a search.",
                "type": "object",
                "properties": {"depth": {"type": "integer"}, "mode": {"enum": ["fast", "exact"]}},
            },
        )
        self.assertEqual(arg(Query)["required"], ["text"])
        self.assertEqual(arg(Query)["properties"]["limit"], {"type": "integer"})

    def test_named_tuple(self):
        doc = arg(Pair)
        self.assertEqual(doc["properties"], {"left": {"type": "integer"}, "right": {"type": "string", "default": "r"}})
        self.assertEqual(doc["required"], ["left"])
        self.assertEqual(result(Pair)["required"], ["left", "right"])


# -- pydantic ------------------------------------------------------------------------------


class FakeModel:
    """What the bridge uses of a pydantic v2 model."""

    model_fields: Dict[str, Any] = {}
    calls: List[Tuple[str, str]] = []

    @classmethod
    def model_json_schema(cls, ref_template="#/$defs/{model}", mode="validation"):
        cls.calls.append((ref_template, mode))
        sub = ref_template.format(model="Sub")
        return {
            "title": "FakeModel",
            "type": "object",
            "properties": {"sub": {"$ref": sub}},
            "$defs": {"Sub": {"title": "Sub", "type": "object", "properties": {"n": {"type": "integer"}}}},
        }


class Pydantic(unittest.TestCase):
    def setUp(self):
        FakeModel.calls = []

    def test_model_schema_and_its_defs(self):
        doc = arg(List[FakeModel])
        self.assertEqual(doc["items"], {"$ref": "#/$defs/FakeModel"})
        self.assertEqual(list(doc["$defs"]), ["FakeModel", "Sub"])
        self.assertEqual(doc["$defs"]["FakeModel"]["properties"], {"sub": {"$ref": "#/$defs/Sub"}})
        self.assertEqual(FakeModel.calls, [("#/$defs/{model}", "validation")])
        self.assertEqual(arg(FakeModel)["title"], "FakeModel")  # one use: inlined
        arg(Tuple[FakeModel, FakeModel])
        self.assertEqual(len(FakeModel.calls), 3)  # once per document
        result(FakeModel)
        self.assertEqual(FakeModel.calls[-1], ("#/$defs/{model}", "serialization"))

    def test_a_def_name_taken_by_another_type(self):
        @dataclasses.dataclass
        class Sub:
            other: str

        doc = arg(Tuple[Sub, FakeModel])
        self.assertEqual(list(doc["$defs"]), ["FakeModel", "FakeModel.Sub", "Sub"])
        self.assertEqual(doc["$defs"]["FakeModel"]["properties"]["sub"], {"$ref": "#/$defs/FakeModel.Sub"})
        self.assertEqual(doc["$defs"]["Sub"]["properties"], {"other": {"type": "string"}})

    @unittest.skipUnless(HAS_PYDANTIC, "pydantic is not installed")
    def test_real_model(self):
        import pydantic

        class Item(pydantic.BaseModel):
            name: str
            count: int = 1
            children: List["Item"] = []

        class Order(pydantic.BaseModel):
            items: List[Item]
            note: Optional[str] = None

        Item.model_rebuild()
        doc = arg(Tuple[Order, Order, Item])
        self.assertEqual(doc["prefixItems"], [{"$ref": "#/$defs/Order"}, {"$ref": "#/$defs/Order"}, {"$ref": "#/$defs/Item"}])
        self.assertEqual(list(doc["$defs"]), ["Item", "Order"])
        item = doc["$defs"]["Item"]
        self.assertEqual(item["properties"]["name"]["type"], "string")
        self.assertEqual(item["properties"]["children"]["items"], {"$ref": "#/$defs/Item"})
        self.assertEqual(item["required"], ["name"])
        self.assertEqual(doc["$defs"]["Order"]["properties"]["items"]["items"], {"$ref": "#/$defs/Item"})
        json.dumps(doc)


# -- the value model's own types -----------------------------------------------------------


class ValueModel(unittest.TestCase):
    def test_binary(self):
        for hint in (bytes, bytearray):
            with self.subTest(hint=hint):
                self.assertEqual(arg(hint), {"x-snakepit-type": "bytes"})
                self.assertEqual(result(hint), {"x-snakepit-type": "bytes"})
        self.assertEqual(arg(Optional[bytes]), {"anyOf": [{"x-snakepit-type": "bytes"}, {"type": "null"}]})
        self.assertEqual(arg(memoryview), {"anyOf": [{"x-snakepit-type": "bytes"}, {"x-snakepit-type": "ndarray"}]})

    def test_numpy_arrays(self):
        self.assertEqual(arg(np.ndarray), {"x-snakepit-type": "ndarray"})
        self.assertEqual(arg(npt.NDArray[np.float32]), {"x-snakepit-type": "ndarray", "dtype": "float32"})
        self.assertEqual(arg(npt.NDArray[np.int64]), {"x-snakepit-type": "ndarray", "dtype": "int64"})
        self.assertEqual(arg(npt.NDArray[np.bool_]), {"x-snakepit-type": "ndarray", "dtype": "bool"})
        self.assertEqual(arg(np.ndarray[Any, np.dtype[np.uint8]]), {"x-snakepit-type": "ndarray", "dtype": "uint8"})
        self.assertEqual(arg(npt.NDArray[Any]), {"x-snakepit-type": "ndarray"})
        self.assertEqual(arg(npt.NDArray[np.floating]), {"x-snakepit-type": "ndarray"})  # no one dtype
        self.assertEqual(arg(npt.NDArray[np.float16]), {"x-snakepit-type": "ndarray"})  # does not travel

    def test_numpy_scalars(self):
        cases = {np.float32: "number", np.float64: "number", np.int64: "integer", np.uint8: "integer", np.bool_: "boolean", np.str_: "string"}
        for hint, name in cases.items():
            with self.subTest(hint=hint):
                self.assertEqual(result(hint), {"type": name})
        self.assertEqual(result(np.bytes_), {"x-snakepit-type": "bytes"})

    def test_datetimes(self):
        self.assertEqual(arg(dt.datetime), {"x-snakepit-type": "datetime"})
        self.assertEqual(result(dt.datetime), {"type": "string", "format": "date-time"})
        self.assertEqual(result(pd.Timestamp), {"type": "string", "format": "date-time"})
        self.assertEqual(arg(dt.date), {"type": "string", "format": "date"})
        self.assertEqual(arg(dt.time), {"type": "string", "format": "time"})

    def test_text_types(self):
        self.assertEqual(arg(decimal.Decimal), {"type": "string"})
        self.assertEqual(arg(uuid.UUID), {"type": "string", "format": "uuid"})

    def test_pandas(self):
        series = {"anyOf": [{"x-snakepit-type": "ndarray"}, {"type": "array"}]}
        self.assertEqual(result(pd.Series), series)
        self.assertEqual(result(pd.DataFrame), {"type": "object", "additionalProperties": series})

    def test_unknown_types_are_open_and_named(self):
        self.assertEqual(arg(Opaque), {"description": "Python type tests.test_schema.Opaque (no schema derived)"})
        self.assertEqual(arg(dt.timedelta), {"description": "Python type datetime.timedelta (no schema derived)"})
        self.assertIn("Callable", arg(typing.Callable[[int], int])["description"])
        self.assertIn("no schema derived", arg(Iterator[int])["description"])  # not a value
        self.assertIn("no schema derived", arg(3)["description"])  # not a hint at all
        self.assertEqual(arg("Nowhere"), {"description": "unresolved type hint 'Nowhere'"})


# -- tools ---------------------------------------------------------------------------------


class Adapter(BaseAdapter):
    @tool
    def search(self, query: str, limit: int = 10, *, color: Color = Color.RED, since: Optional[dt.datetime] = None) -> List[Point]:
        """Search the points.

        A second paragraph, not in the summary.

        Args:
            query (str): what to look for,
                over two lines.
            limit: at most this many.
            color: of this colour.

        Returns:
            list[Point]: the points found.
        """
        return []

    @tool(supports_streaming=True)
    def watch(self, n: int) -> Generator[Point, None, Dict[str, int]]:
        """Watch.

        Yields:
            a point at a time.

        Returns:
            the totals.
        """
        yield Point(0)
        return {}

    @tool(supports_streaming=True)
    async def ticks(self, n: int) -> AsyncIterator[int]:
        yield n

    @tool(supports_streaming=True)
    def export(self, rows: int, stream) -> dict:
        return {}


class Tools(unittest.TestCase):
    def test_search(self):
        out = tool_schemas(Adapter().search, streaming=False)
        self.assertEqual(list(out), ["arguments", "result", "description"])
        self.assertEqual(out["description"], "Search the points.")
        self.assertEqual(out["arguments"]["$schema"], DIALECT)
        self.assertEqual(
            body(out["arguments"]),
            {
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "what to look for, over two lines."},
                    "limit": {"type": "integer", "description": "at most this many.", "default": 10},
                    "color": {"$ref": "#/$defs/Color", "description": "of this colour.", "default": "red"},
                    "since": {"anyOf": [{"x-snakepit-type": "datetime"}, {"type": "null"}], "default": None},
                },
                "required": ["query"],
                "additionalProperties": False,
                "$defs": {"Color": {"title": "Color", "description": "A colour.", "enum": ["red", "green"]}},
            },
        )
        res = body(out["result"])
        self.assertEqual(res["type"], "array")
        self.assertEqual(res["items"], {"$ref": "#/$defs/Point"})
        self.assertEqual(res["description"], "the points found.")
        self.assertEqual(res["$defs"]["Point"]["required"], ["x", "y", "tags", "cached"])

    def test_unbound_function_skips_self(self):
        self.assertEqual(arguments(Adapter.search), arguments(Adapter().search))

    def test_streaming_generator(self):
        out = tool_schemas(Adapter().watch, streaming=True)
        self.assertEqual(list(out), ["arguments", "result", "chunk", "description"])
        self.assertEqual(body(out["chunk"])["title"], "Point")  # one use: the definition itself
        self.assertEqual(body(out["chunk"])["description"], "a point at a time.")
        self.assertEqual(
            body(out["result"]),
            {"type": "object", "additionalProperties": {"type": "integer"}, "description": "the totals."},
        )

    def test_streaming_async_generator(self):
        out = tool_schemas(Adapter().ticks, streaming=True)
        self.assertEqual(body(out["chunk"]), {"type": "integer"})
        self.assertEqual(body(out["result"]), {"type": "null"})

    def test_streaming_with_send(self):
        out = tool_schemas(Adapter().export, streaming=True)
        self.assertEqual(list(body(out["arguments"])["properties"]), ["rows"])  # stream is the worker's
        self.assertEqual(body(out["chunk"]), {})
        self.assertEqual(body(out["result"]), {"type": "object"})

    def test_stream_parts(self):
        cases = [
            (Iterator[int], int, Any),
            (Iterable[int], int, Any),
            (abc.Iterator[int], int, Any),
            (Generator[int, None, str], int, str),
            (AsyncGenerator[int, None], int, None),
            (AsyncIterator, Any, None),
            (dict, Any, dict),
        ]
        for hint, chunk, res in cases:
            with self.subTest(hint=hint):
                self.assertEqual(schema.stream_parts(hint), (chunk, res))

    def test_a_parameter_named_stream_of_a_generator_is_an_argument(self):
        def gen(self, stream: str):
            yield stream

        self.assertEqual(list(arguments(gen, streaming=True)["properties"]), ["stream"])
        self.assertEqual(list(arguments(gen, streaming=False)["properties"]), ["stream"])

    def test_no_hints_at_all(self):
        def bare(self, a, b=2, *rest, **extra):
            pass

        out = tool_schemas(bare, streaming=False)
        self.assertEqual(
            body(out["arguments"]),
            {"type": "object", "properties": {"a": {}, "b": {"default": 2}}, "required": ["a"], "additionalProperties": True},
        )
        self.assertEqual(body(out["result"]), {})
        self.assertEqual(out["description"], "")

    def test_var_positional_takes_no_keyword(self):
        def starred(self, a: int, *rest: int):
            pass

        self.assertIs(arguments(starred)["additionalProperties"], False)

    def test_typed_var_keyword(self):
        def kw(self, **extra: float):
            pass

        self.assertEqual(arguments(kw)["additionalProperties"], {"type": "number"})

    def test_params_convention(self):
        def whole(self, params: dict):
            """Everything.

            Args:
                params: all the arguments.
            """

        def typed(self, params: Options):
            pass

        def recursive(self, params: Tree):
            pass

        def not_an_object(self, *, params: List[int]):
            pass

        self.assertEqual(arguments(whole), {"type": "object", "description": "all the arguments."})
        self.assertEqual(arguments(typed)["title"], "Options")
        self.assertNotIn("$defs", arguments(typed))
        self.assertEqual(arguments(recursive)["$ref"], "#/$defs/Tree")
        self.assertEqual(arguments(not_an_object), {"type": "object"})

    def test_defaults(self):
        sentinel = object()

        def defaults(self, a: int = None, b: Tuple[int, int] = (1, 2), c: dict = {"k": [1.5]}, d=float("nan"), e=2**60, f=sentinel, g: Level = Level.HIGH, h: Set[int] = frozenset({1})):
            pass

        props = arguments(defaults)["properties"]
        self.assertEqual(props["a"], {"type": ["integer", "null"], "default": None})
        self.assertEqual(props["b"]["default"], [1, 2])
        self.assertEqual(props["c"], {"type": "object", "default": {"k": [1.5]}})
        for name in "dfh":
            self.assertNotIn("default", props[name])
        self.assertEqual(props["e"], {})
        self.assertEqual(props["g"], {"$ref": "#/$defs/Level", "default": 2})
        self.assertNotIn("required", arguments(defaults))

    def test_no_signature(self):
        self.assertEqual(arguments(print)["type"], "object")

    def test_odd_callables(self):
        import functools

        def base(self, a: int, b: str):
            pass

        base.__doc__ = "Base."
        out = tool_schemas(functools.partial(base, None, 1), streaming=False)
        self.assertEqual(body(out["arguments"])["properties"], {"b": {"type": "string"}})
        self.assertEqual(out["description"], "Base.")

    def test_a_failing_definition_leaves_no_trace(self):
        class Odd(enum.Enum):
            A = 1

        builder = schema._Builder(schema.ARGUMENTS)
        with unittest.mock.patch.object(schema._Builder, "_definition", side_effect=RuntimeError("odd")):
            self.assertIn("no schema derived", builder.schema(Odd)["description"])
        self.assertEqual(builder.defs, {})
        self.assertEqual(builder.schema(Odd), {"$ref": "#/$defs/Odd"})

    def test_output_is_json(self):
        for name, (attr, spec) in sorted(Adapter.tool_index().items()):
            with self.subTest(tool=name):
                out = tool_schemas(getattr(Adapter(), attr), streaming=spec.supports_streaming)
                self.assertEqual(json.loads(json.dumps(out, allow_nan=False)), out)


FUTURE_SOURCE = '''
from __future__ import annotations
import dataclasses
from typing import Optional

@dataclasses.dataclass
class Node:
    value: int
    children: list[Node] = dataclasses.field(default_factory=list)

def grow(self, root: Node, depth: int | None = None, label: Missing = None) -> list[Node]:
    """Grow a tree."""
'''


class StringAnnotations(unittest.TestCase):
    def setUp(self):
        module = types.ModuleType("future_tools")
        sys.modules[module.__name__] = module
        self.addCleanup(sys.modules.pop, module.__name__)
        exec(compile(FUTURE_SOURCE, "<future>", "exec"), module.__dict__)
        self.namespace = module.__dict__

    def test_resolved_and_unresolved(self):
        out = tool_schemas(self.namespace["grow"], streaming=False)
        props = body(out["arguments"])["properties"]
        self.assertEqual(props["root"], {"$ref": "#/$defs/Node"})
        self.assertEqual(props["depth"], {"type": ["integer", "null"], "default": None})
        self.assertEqual(props["label"], {"description": "unresolved type hint 'Missing'", "default": None})
        node = body(out["result"])["$defs"]["Node"]
        self.assertEqual(node["properties"]["children"], {"type": "array", "items": {"$ref": "#/$defs/Node"}})


# -- docstrings ----------------------------------------------------------------------------


class Docstrings(unittest.TestCase):
    def test_google_headers(self):
        for header in ("Args", "Arguments", "Parameters", "Keyword Args"):
            with self.subTest(header=header):
                doc = schema.parse_docstring(f"Summary.\n\n{header}:\n    a (int, optional): first\n    b: second\n")
                self.assertEqual(doc.params, {"a": "first", "b": "second"})

    def test_google_continuations_and_other_sections(self):
        doc = schema.parse_docstring(
            """Two-line
            summary.

            Args:
                a: first,
                    continued.
                *rest: more.
                **extra: and more.

            Raises:
                ValueError: not an argument.

            Returns:
                Dict[str, int]: the counts
                    per name.

            Yields:
                int: items.
            """
        )
        self.assertEqual(doc.summary, "Two-line summary.")
        self.assertEqual(doc.params, {"a": "first, continued.", "rest": "more.", "extra": "and more."})
        self.assertEqual(doc.returns, "the counts per name.")
        self.assertEqual(doc.yields, "items.")

    def test_google_returns_without_a_type(self):
        doc = schema.parse_docstring("S.\n\nReturns:\n    The sum: of a and b.\n")
        self.assertEqual(doc.returns, "The sum: of a and b.")

    def test_numpy(self):
        doc = schema.parse_docstring(
            """Summary line.

            Parameters
            ----------
            a : int
                The first.
            b, c : str, optional
                Two more,
                over two lines.
            flag
                No type.

            Returns
            -------
            int
                The total.

            Examples
            --------
            >>> f(1)
            """
        )
        self.assertEqual(doc.summary, "Summary line.")
        self.assertEqual(doc.params, {"a": "The first.", "b": "Two more, over two lines.", "c": "Two more, over two lines.", "flag": "No type."})
        self.assertEqual(doc.returns, "The total.")

    def test_rest(self):
        doc = schema.parse_docstring(
            """Summary.

            :param a: first
                continued
            :param str b: second
            :returns: the result
            :rtype: int
            """
        )
        self.assertEqual(doc.params, {"a": "first continued", "b": "second"})
        self.assertEqual(doc.returns, "the result")

    def test_no_docstring(self):
        self.assertEqual(schema.parse_docstring(None), ("", {}, {}, "", ""))
        self.assertEqual(schema.parse_docstring("Args:\n    a: x\n").summary, "")

    def test_class_attributes(self):
        doc = schema.parse_docstring("A point.\n\nAttributes\n----------\nx : float\n    across\n")
        self.assertEqual(doc.attributes, {"x": "across"})


# -- determinism and speed -----------------------------------------------------------------


DETERMINISM_SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[1])
    from tests.test_schema import Adapter
    from snakepit_bridge._schema import tool_schemas
    out = {n: tool_schemas(getattr(Adapter(), a), streaming=s.supports_streaming) for n, (a, s) in sorted(Adapter.tool_index().items())}
    print(json.dumps(out))
    """
)


class Determinism(unittest.TestCase):
    def test_same_input_same_output(self):
        first = tool_schemas(Adapter().search, streaming=False)
        second = tool_schemas(Adapter().search, streaming=False)
        self.assertEqual(json.dumps(first), json.dumps(second))  # key order included

    def test_defs_are_sorted(self):
        doc = arg(Tuple[Pong, Color, Box[int]])
        self.assertEqual(list(doc["$defs"]), ["Box", "Color", "Ping", "Pong"])

    def test_across_processes_and_hash_seeds(self):
        outputs = set()
        for seed in ("1", "2", "12345"):
            env = dict(os.environ, PYTHONHASHSEED=seed)
            proc = subprocess.run(
                [sys.executable, "-c", DETERMINISM_SCRIPT, PRIV_PYTHON],
                capture_output=True, text=True, env=env, timeout=60,
            )
            self.assertEqual(proc.returncode, 0, proc.stderr)
            outputs.add(proc.stdout)
        self.assertEqual(len(outputs), 1)

    def test_fast(self):
        adapter = Adapter()
        start = time.perf_counter()
        for _ in range(50):
            tool_schemas(adapter.search, streaming=False)
        self.assertLess((time.perf_counter() - start) / 50, 0.01)  # well under 10 ms a tool


class Showcase(unittest.TestCase):
    def test_every_showcase_tool(self):
        from snakepit_showcase.adapter import ShowcaseAdapter

        adapter = ShowcaseAdapter()
        for name, (attr, spec) in sorted(adapter.tool_index().items()):
            with self.subTest(tool=name):
                out = tool_schemas(getattr(adapter, attr), streaming=spec.supports_streaming)
                self.assertEqual(body(out["arguments"]).get("type"), "object")
                self.assertEqual("chunk" in out, spec.supports_streaming)
                json.dumps(out, allow_nan=False)


if __name__ == "__main__":
    unittest.main()
