"""JSON Schema (draft 2020-12) for a tool, derived from its type hints, defaults and docstring.

``tool_schemas(fn, streaming=...)`` gives the schema of a tool's arguments (an object, one
property per parameter), of its result and, for a streaming tool, of its chunks. Each is a
schema document of its own (``$schema``, and ``$defs`` for the named types it uses), so that it
can be compiled alone. Nothing here calls the tool, imports a library the adapter did not
import (numpy, pandas and pydantic are looked up in ``sys.modules``), or raises for a hint it
does not understand: such a hint gets an open schema (``{}``) whose ``description`` names it.
The output is deterministic (same tool, same dict, same key order) so that files generated from
it can be checked for being up to date.

Hints map as follows (arguments and results alike unless said otherwise):

==========================================  ===================================================
hint                                        schema
==========================================  ===================================================
no hint, ``Any``, ``object``, a TypeVar     ``{}`` (a TypeVar: its bound or constraints)
``None``                                    ``{"type": "null"}``
``bool`` / ``int`` / ``float`` / ``str``    ``boolean`` / ``integer`` / ``number`` / ``string``
``Optional[X]``, ``X | Y``, ``Union``       ``{"type": [...]}`` when all are plain types, else
                                            ``anyOf``
``list[X]``, ``Sequence[X]``, ``Iterable``  ``{"type": "array", "items": X}``
``set[X]``, ``frozenset[X]``                the same, with ``"uniqueItems": true``
``tuple[X, Y]``                             ``prefixItems``, ``minItems``, ``maxItems``
``tuple[X, ...]``                           ``{"type": "array", "items": X}``
``dict[str, X]``, ``Mapping[str, X]``       ``{"type": "object", "additionalProperties": X}``
``Literal[a]`` / ``Literal[a, b]``          ``{"const": a}`` / ``{"enum": [a, b]}``
``Annotated[X, "text"]``                    X, with the strings as its description
an ``Enum``                                 ``$defs``: ``{"title", "enum": [values]}``
                                            (a ``Flag``: an integer)
a ``TypedDict``                             ``$defs``: an (open) object; ``required`` from its
                                            total and ``Required``/``NotRequired``
a dataclass, a ``NamedTuple``               ``$defs``: a closed object of its fields; required:
                                            those without defaults (arguments), all (results)
a pydantic v2 model                         ``$defs``: its ``model_json_schema()`` (validation
                                            mode for arguments, serialization for results)
``bytes``, ``bytearray``                    ``{"x-snakepit-type": "bytes"}``
``memoryview``                              ``anyOf`` bytes and ndarray
``np.ndarray``, ``NDArray[np.float32]``     ``{"x-snakepit-type": "ndarray"}`` (+ ``"dtype"``)
numpy scalars                               boolean, integer, number, string or bytes
a pandas ``Series`` / ``DataFrame``         ``anyOf`` ndarray and array / an object of those
``datetime``                                arguments: ``{"x-snakepit-type": "datetime"}``;
                                            results: ``{"type": "string",
                                            "format": "date-time"}``
``date`` / ``time``                         ``string`` with ``format`` ``date`` / ``time``
``Decimal`` / ``UUID``                      ``string`` / ``string`` with ``format`` ``uuid``
``NewType``, ``ClassVar``, ``Final``        what they wrap
``Awaitable[T]``, ``Coroutine[..., T]``     T
any other class or hint                     ``{"description": "Python type ..."}`` (open)
a hint that cannot be resolved              ``{"description": "unresolved type hint ..."}``
==========================================  ===================================================

A streaming tool's return hint ``Iterator[T]``, ``Iterable[T]``, ``Generator[T, S, R]``,
``AsyncIterator[T]``, ``AsyncIterable[T]`` or ``AsyncGenerator[T, S]`` gives its chunks T and
its result R (``Generator``), null (async: no return value) or ``{}``; any other return hint is
its result, with open chunks (a tool that takes ``stream`` and calls ``stream.send``).

Named classes (enums, TypedDicts, dataclasses, NamedTuples, pydantic models) go in ``$defs``
and are referred to with ``$ref``, so that a type that contains itself does not loop; a root
schema that is a single use of one of them is that schema itself.
"""
import collections.abc as abc
import dataclasses
import datetime as _dt
import decimal
import enum
import functools
import inspect
import json
import math
import re
import sys
import types
import typing
import uuid
from typing import Any, Callable, Dict, Iterable, List, NamedTuple, Optional, Tuple

from ._invoke import _annotation_text, _sole_params_parameter
from ._values import FORMATS, MAX_SAFE_INTEGER

DIALECT = "https://json-schema.org/draft/2020-12/schema"
ARGUMENTS = "arguments"
RESULT = "result"
_DEFS = "#/$defs/"
_P = inspect.Parameter
_MISSING = object()
_NOT_JSON = object()
_JSON_DEPTH = 32  # how deeply a default may nest to be shown


def tool_schemas(fn: Callable[..., Any], *, streaming: bool) -> Dict[str, Any]:
    """``{"arguments", "result", "chunk" (streaming tools only), "description"}`` for ``fn``
    (a bound method, or a function whose first parameter ``self`` is skipped)."""
    doc = parse_docstring(inspect.getdoc(fn.func if isinstance(fn, functools.partial) else fn))
    hints = _type_hints(fn)
    returns = hints.get("return", Any)
    out = {ARGUMENTS: _arguments(fn, hints, doc, streaming)}
    if streaming:
        chunk, result = stream_parts(returns)
        out[RESULT] = _document(RESULT, result, doc.returns)
        out["chunk"] = _document(RESULT, chunk, doc.yields)
    else:
        out[RESULT] = _document(RESULT, returns, doc.returns)
    out["description"] = doc.summary
    return out


def stream_parts(hint: Any) -> Tuple[Any, Any]:
    """(chunk hint, result hint) of a streaming tool's return hint."""
    origin = typing.get_origin(hint) or hint
    if not any(origin is kind for kind in _STREAM_KINDS):
        return Any, hint
    args = typing.get_args(hint)
    chunk = args[0] if args else Any
    if origin is abc.Generator and len(args) == 3:
        return chunk, args[2]
    if origin in (abc.AsyncGenerator, abc.AsyncIterator, abc.AsyncIterable):
        return chunk, None  # an async generator returns no value: the final chunk has none
    return chunk, Any


_STREAM_KINDS = (abc.Iterator, abc.Iterable, abc.Generator, abc.AsyncIterator, abc.AsyncIterable, abc.AsyncGenerator)


# -- arguments -----------------------------------------------------------------------------


def _arguments(fn: Callable[..., Any], hints: Dict[str, Any], doc: "Docstring", streaming: bool) -> Dict[str, Any]:
    """The object schema of the arguments dict the tool is called with."""
    call = _without_self(fn)
    try:
        params = list(inspect.signature(call).parameters.values())
    except (TypeError, ValueError):  # no signature to read: anything goes
        return _finish(_Builder(ARGUMENTS), {"type": "object"})
    builder = _Builder(ARGUMENTS)
    sole = _sole_params_parameter(call)
    if sole is not None:  # the tool gets the whole dict as `params`
        return _params_document(builder, hints.get(sole.name, Any), doc.params.get(sole.name, ""))
    if streaming and _takes_stream(fn, params):
        params = [p for p in params if p.name != "stream"]  # given by the worker, not the caller
    properties: Dict[str, Any] = {}
    required: List[str] = []
    extra: Any = False
    for p in params:
        if p.kind is _P.VAR_KEYWORD:
            values = builder.schema(hints.get(p.name, Any))
            extra = True if _is_open(values) else values
        elif p.kind is not _P.VAR_POSITIONAL:  # *args: only keyword arguments are passed
            default = _MISSING if p.default is _P.empty else p.default
            properties[p.name] = builder.property(hints.get(p.name, Any), doc.params.get(p.name, ""), default)
            if default is _MISSING:
                required.append(p.name)
    return _finish(builder, _object(properties, required, extra))


def _params_document(builder: "_Builder", hint: Any, description: str) -> Dict[str, Any]:
    """The arguments schema of a tool that takes them all as one ``params`` dict."""
    root = _inline_root(builder, builder.schema(hint))
    if not _is_object(root, builder.defs):
        root = {"type": "object"}
    if description:
        root["description"] = description
    return _finish(builder, root)


def _without_self(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` as the worker calls it: a plain function's first parameter ``self`` bound away."""
    if inspect.ismethod(fn):
        return fn
    try:
        first = next(iter(inspect.signature(fn).parameters.values()), None)
    except (TypeError, ValueError):
        return fn
    if first is not None and first.name == "self" and first.kind is _P.POSITIONAL_OR_KEYWORD:
        return functools.partial(fn, None)
    return fn


def _takes_stream(fn: Callable[..., Any], params: List[inspect.Parameter]) -> bool:
    """Whether the worker passes ``stream`` itself (the "send" style of _streaming.stream_style:
    not a generator function, and a parameter named ``stream``)."""
    plain = not (inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn))
    return plain and any(p.name == "stream" for p in params)


def _object(properties: Dict[str, Any], required: List[str], extra: Any) -> Dict[str, Any]:
    """An object schema; ``extra`` is its ``additionalProperties`` (None: not said)."""
    schema: Dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    if extra is not None:
        schema["additionalProperties"] = extra
    return schema


# -- documents -----------------------------------------------------------------------------


def _document(direction: str, hint: Any, description: str) -> Dict[str, Any]:
    """A schema document for one hint (a result or a chunk)."""
    builder = _Builder(direction)
    root = _inline_root(builder, builder.schema(hint))
    if description:
        root["description"] = description
    return _finish(builder, root)


def _finish(builder: "_Builder", root: Dict[str, Any]) -> Dict[str, Any]:
    """``root`` as a document: ``$schema`` first, its ``$defs`` (sorted by name) last."""
    out = {"$schema": DIALECT, **root}
    if builder.defs:
        out["$defs"] = {name: builder.defs[name] for name in sorted(builder.defs)}
    return out


def _inline_root(builder: "_Builder", root: Dict[str, Any]) -> Dict[str, Any]:
    """``root`` with a ``$ref`` to a definition used nowhere else replaced by that definition."""
    ref = root.get("$ref")
    if not isinstance(ref, str) or not ref.startswith(_DEFS):
        return dict(root)
    name = ref[len(_DEFS):]
    if name not in builder.defs or _count_refs(builder.defs, ref) > 0:
        return dict(root)
    inlined = builder.defs.pop(name)
    return {**inlined, **{k: v for k, v in root.items() if k != "$ref"}}


def _count_refs(node: Any, ref: str) -> int:
    """How many times ``{"$ref": ref}`` occurs in ``node``."""
    if isinstance(node, dict):
        own = 1 if node.get("$ref") == ref else 0
        return own + sum(_count_refs(v, ref) for v in node.values())
    if isinstance(node, list):
        return sum(_count_refs(v, ref) for v in node)
    return 0


def _is_object(schema: Dict[str, Any], defs: Dict[str, Any]) -> bool:
    """Whether ``schema`` (or the definition it refers to) is an object schema."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(_DEFS):
        schema = defs.get(ref[len(_DEFS):]) or {}
    return schema.get("type") == "object"


# -- type hints ----------------------------------------------------------------------------


class _Unresolved(NamedTuple):
    """A hint whose names could not be resolved (kept as its text)."""

    text: str


def _type_hints(obj: Any) -> Dict[str, Any]:
    """``typing.get_type_hints(obj, include_extras=True)``; when that fails, each annotation
    resolved alone, those that still fail as _Unresolved."""
    target = obj if isinstance(obj, type) else _function_of(obj)
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception:
        pass
    hints: Dict[str, Any] = {}
    for owner in reversed(target.__mro__) if isinstance(target, type) else [target]:
        globalns, localns = _namespaces(owner, target)
        if isinstance(owner, type):
            annotations = owner.__dict__.get("__annotations__")  # its own, not its bases'
        else:
            annotations = getattr(owner, "__annotations__", None)
        for name, annotation in dict(annotations or {}).items():
            hints[name] = _resolve(annotation, globalns, localns)
    return hints


def _function_of(fn: Any) -> Any:
    """The function whose annotations a callable has: a method's, a partial's, a wrapper's."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    return inspect.unwrap(getattr(fn, "__func__", fn))


def _namespaces(owner: Any, target: Any) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """The globals and locals an annotation of ``owner`` is evaluated in; a class can name
    itself even when it is local to a function."""
    if isinstance(owner, type):
        module = sys.modules.get(owner.__module__)
        localns = {**vars(owner), target.__name__: target}
        return dict(getattr(module, "__dict__", {})), localns
    return dict(getattr(owner, "__globals__", {})), {}


def _resolve(annotation: Any, globalns: Dict[str, Any], localns: Dict[str, Any]) -> Any:
    """One annotation, evaluated as get_type_hints does; _Unresolved when it cannot be."""
    holder = types.SimpleNamespace(__annotations__={"hint": annotation})
    try:
        return typing.get_type_hints(holder, globalns, localns, include_extras=True)["hint"]
    except Exception:
        return _Unresolved(annotation if isinstance(annotation, str) else _annotation_text(annotation))


# -- the builder ---------------------------------------------------------------------------


class _Builder:
    """Schemas of hints for one document and one direction (ARGUMENTS: what the host sends;
    RESULT: what the tool returns), with the ``$defs`` they share."""

    def __init__(self, direction: str) -> None:
        """A builder for ``direction``, ARGUMENTS or RESULT."""
        self.direction = direction
        self.defs: Dict[str, Any] = {}
        self._names: Dict[Any, str] = {}

    def schema(self, hint: Any) -> Dict[str, Any]:
        """The schema of ``hint``; an open one naming it when it cannot be derived."""
        try:
            return self._hint(hint)
        except Exception:  # an odd hint (or a class whose introspection fails): open
            return _unknown(hint)

    def property(self, hint: Any, description: str, default: Any = _MISSING) -> Dict[str, Any]:
        """The schema of a parameter or field: its type, description and default. A default of
        None makes the type nullable (``x: int = None``)."""
        schema = dict(self.schema(hint))
        if default is None and not _allows_null(schema):
            schema = _union([schema, {"type": "null"}])
        if description:
            schema["description"] = description
        value = _NOT_JSON if default is _MISSING else json_value(default)
        if value is not _NOT_JSON:
            schema["default"] = value
        return schema

    # The dispatch: special forms, then generic aliases, then classes.

    def _hint(self, hint: Any) -> Dict[str, Any]:
        """The schema of ``hint`` (may raise: see ``schema``)."""
        if hint is Any or hint is object or hint is _P.empty:
            return {}
        if hint is None or hint is type(None):
            return {"type": "null"}
        if isinstance(hint, _Unresolved):
            return {"description": f"unresolved type hint {hint.text!r}"}
        if isinstance(hint, (str, typing.ForwardRef)):
            text = hint if isinstance(hint, str) else hint.__forward_arg__
            return {"description": f"unresolved type hint {text!r}"}
        if isinstance(hint, typing.TypeVar):
            return self._type_var(hint)
        if hasattr(hint, "__supertype__"):  # a NewType
            return self.schema(hint.__supertype__)
        if hasattr(hint, "__metadata__") and hasattr(hint, "__origin__"):  # Annotated[X, ...]
            return _described(self.schema(hint.__origin__), hint.__metadata__)
        if typing.get_origin(hint) is not None:
            return self._generic(hint, typing.get_origin(hint), typing.get_args(hint))
        if isinstance(hint, type):
            return self._class(hint)
        return _unknown(hint)

    def _type_var(self, hint: Any) -> Dict[str, Any]:
        """A TypeVar: its bound, its constraints, or anything."""
        if hint.__bound__ is not None:
            return self.schema(hint.__bound__)
        if hint.__constraints__:
            return _union([self.schema(c) for c in hint.__constraints__])
        return {}

    def _generic(self, hint: Any, origin: Any, args: Tuple[Any, ...]) -> Dict[str, Any]:
        """A parameterized hint: ``origin[args]``."""
        form = _form_name(origin)
        if form == "Union" or origin is _UNION_TYPE:
            return _union([self.schema(a) for a in args])
        if form == "Literal":
            return _literal(hint, args)
        if form in _WRAPPERS:
            return self.schema(args[0]) if args else {}
        if origin is abc.Awaitable or origin is abc.Coroutine:
            return self.schema(args[-1]) if args else {}
        np = sys.modules.get("numpy")
        if np is not None and isinstance(origin, type) and issubclass(origin, np.ndarray):
            return _ndarray(np, args)
        if isinstance(origin, type) and _is_named(origin):
            return self._class(origin)  # a generic class: its type parameters stay open
        container = self._container(origin, args, bare=hint is typing.Tuple)
        return container if container is not None else _unknown(hint)

    def _container(self, origin: Any, args: Tuple[Any, ...], bare: bool) -> Optional[Dict[str, Any]]:
        """Tuples, mappings, sets and sequences (``bare``: without parameters); None otherwise."""
        if not isinstance(origin, type):
            return None
        if issubclass(origin, tuple):
            return self._tuple(args, bare)
        if issubclass(origin, dict) or origin in (abc.Mapping, abc.MutableMapping):
            return self._mapping(args)
        if issubclass(origin, (set, frozenset)) or origin in (abc.Set, abc.MutableSet):
            return {**_array(self.schema(args[0]) if args else {}), "uniqueItems": True}
        if issubclass(origin, list) or origin in _SEQUENCES:
            return _array(self.schema(args[0]) if args else {})
        return None

    def _tuple(self, args: Tuple[Any, ...], bare: bool) -> Dict[str, Any]:
        """A tuple: of fixed length (``prefixItems``), of any length, or empty."""
        if bare:
            return {"type": "array"}
        if len(args) == 2 and args[1] is Ellipsis:
            return _array(self.schema(args[0]))
        if not args or args == ((),):  # tuple[()] (3.10 and older: ((),))
            return {"type": "array", "maxItems": 0}
        items = [self.schema(a) for a in args]
        return {"type": "array", "prefixItems": items, "minItems": len(items), "maxItems": len(items)}

    def _mapping(self, args: Tuple[Any, ...]) -> Dict[str, Any]:
        """A dict: an object; its keys' names when they are listed (``Literal``)."""
        schema: Dict[str, Any] = {"type": "object"}
        if len(args) != 2:
            return schema
        keys = self.schema(args[0])
        names = keys.get("enum", [keys["const"]] if "const" in keys else None)
        if names is not None and all(isinstance(n, str) for n in names):
            schema["propertyNames"] = {"enum": names}
        values = self.schema(args[1])
        if values:
            schema["additionalProperties"] = values
        return schema

    def _class(self, cls: type) -> Dict[str, Any]:
        """A class used as a hint."""
        if _is_named(cls):
            return self._named(cls)
        for base, make in _SCALARS:
            if issubclass(cls, base):
                return make(self.direction)
        extension = _extension(cls)
        if extension is not None:
            return extension
        container = self._container(cls, (), bare=True)
        return container if container is not None else _unknown(cls)

    # Named classes: a definition each, referred to by $ref.

    def _named(self, cls: type) -> Dict[str, Any]:
        """A ``$ref`` to the definition of ``cls``, made on first use."""
        name = self._names.get(cls)
        if name is None:
            name = self._pydantic_name(cls) if _is_pydantic(cls) else self._define(cls)
        return {"$ref": _DEFS + name}

    def _define(self, cls: type) -> str:
        """Name and build the definition of ``cls``; a reference to it while it is built
        (a type that contains itself) is a ``$ref`` to that name."""
        name = self._names[cls] = self._free_name(cls.__name__)
        self.defs[name] = None  # reserved
        try:
            self.defs[name] = self._definition(cls)
        except Exception:
            del self.defs[name], self._names[cls]
            raise
        return name

    def _free_name(self, base: str) -> str:
        """``base``, or ``base2``, ``base3``, ... when a definition has that name."""
        name, n = base, 1
        while name in self.defs:
            n += 1
            name = f"{base}{n}"
        return name

    def _definition(self, cls: type) -> Dict[str, Any]:
        """The definition of an Enum, TypedDict, NamedTuple or dataclass."""
        doc = parse_docstring(_own_doc(cls))
        head: Dict[str, Any] = {"title": cls.__name__}
        if doc.summary:
            head["description"] = doc.summary
        if issubclass(cls, enum.Enum):
            return {**head, **_enum(cls)}
        if _is_typeddict(cls):
            return {**head, **self._typeddict(cls, doc)}
        if _is_namedtuple(cls):
            defaults = getattr(cls, "_field_defaults", {})
            fields = [(name, defaults.get(name, _MISSING)) for name in cls._fields]
            return {**head, **self._record(cls, fields, doc)}
        fields = [(f.name, _field_default(f)) for f in dataclasses.fields(cls) if f.init or self.direction == RESULT]
        return {**head, **self._record(cls, fields, doc)}

    def _record(self, cls: type, fields: List[Tuple[str, Any]], doc: "Docstring") -> Dict[str, Any]:
        """A dataclass or NamedTuple: a closed object of its fields. A result has all of them;
        arguments need those without a default."""
        hints = _type_hints(cls)
        properties = {
            name: self.property(hints.get(name, Any), doc.attributes.get(name, ""), default)
            for name, default in fields
        }
        required = [name for name, default in fields if default is _MISSING or self.direction == RESULT]
        return _object(properties, required, False)

    def _typeddict(self, cls: type, doc: "Docstring") -> Dict[str, Any]:
        """A TypedDict: an object whose required keys are those its totality says."""
        hints = _type_hints(cls)
        required_keys = getattr(cls, "__required_keys__", frozenset(hints))
        properties = {name: self.property(hint, doc.attributes.get(name, "")) for name, hint in hints.items()}
        required = [name for name in hints if name in required_keys]
        return _object(properties, required, None)  # a TypedDict may hold other keys too

    def _pydantic_name(self, cls: type) -> str:
        """The definition of a pydantic model: the one pydantic made (a recursive model's
        schema is a ``$ref``), or its schema under a name of ours. Pydantic resolves its own
        recursion, so nothing is reserved while it works."""
        schema = self._pydantic(cls)
        ref = schema.get("$ref") if list(schema) == ["$ref"] else None
        if isinstance(ref, str) and ref[len(_DEFS):] in self.defs:
            name = ref[len(_DEFS):]
        else:
            name = self._free_name(cls.__name__)
            self.defs[name] = schema
        self._names[cls] = name
        return name

    def _pydantic(self, cls: type) -> Dict[str, Any]:
        """A pydantic v2 model's own schema, its ``$defs`` merged into ours (under a prefix
        when one of their names is taken by another type)."""
        mode = "validation" if self.direction == ARGUMENTS else "serialization"
        prefix = ""
        for _ in range(2):
            schema = dict(cls.model_json_schema(ref_template=_DEFS + prefix + "{model}", mode=mode))
            defs = {prefix + k: v for k, v in schema.pop("$defs", {}).items()}
            if all(self.defs.get(k, v) == v for k, v in defs.items()):
                self.defs.update(defs)
                return schema
            prefix = self._free_name(cls.__name__) + "."
        return _unknown(cls)


# Special forms that stand for the type they wrap, by name (typing's and typing_extensions').
_WRAPPERS = ("ClassVar", "Final", "Required", "NotRequired", "ReadOnly")
_UNION_TYPE = getattr(types, "UnionType", None)  # X | Y (3.10+)
_SEQUENCES = (abc.Sequence, abc.MutableSequence, abc.Collection, abc.Iterable, abc.Reversible)


def _form_name(origin: Any) -> Optional[str]:
    """The name of a special form of typing or typing_extensions (``"Union"``, ...)."""
    return None if isinstance(origin, type) else getattr(origin, "_name", None)


# -- classes -------------------------------------------------------------------------------


def _datetime(direction: str) -> Dict[str, Any]:
    """A JS Date arrives as an aware datetime; a datetime result is shown as its ISO text."""
    if direction == ARGUMENTS:
        return {"x-snakepit-type": "datetime"}
    return {"type": "string", "format": "date-time"}


def _bytes(direction: str) -> Dict[str, Any]:
    """Binary data: not JSON, checked by the host itself."""
    return {"x-snakepit-type": "bytes"}


def _memoryview(direction: str) -> Dict[str, Any]:
    """A byte memoryview travels as bytes, a typed one as an array."""
    return {"anyOf": [_bytes(direction), {"x-snakepit-type": "ndarray"}]}


def _plain(name: str, fmt: str = "") -> Callable[[str], Dict[str, Any]]:
    """A maker of ``{"type": name}`` (with ``format``) for either direction."""
    return lambda direction: {"type": name, "format": fmt} if fmt else {"type": name}


# Checked in order, with issubclass (bool before int, datetime before date).
_SCALARS: Tuple[Tuple[Any, Callable[[str], Dict[str, Any]]], ...] = (
    (bool, _plain("boolean")),
    (int, _plain("integer")),
    (float, _plain("number")),
    (str, _plain("string")),
    ((bytes, bytearray), _bytes),
    (memoryview, _memoryview),
    (_dt.datetime, _datetime),
    (_dt.date, _plain("string", "date")),
    (_dt.time, _plain("string", "time")),
    (decimal.Decimal, _plain("string")),
    (uuid.UUID, _plain("string", "uuid")),
)


def _extension(cls: type) -> Optional[Dict[str, Any]]:
    """numpy arrays and scalars, pandas Series and DataFrames; None for other classes."""
    np = sys.modules.get("numpy")
    if np is not None:
        if issubclass(cls, np.ndarray):
            return {"x-snakepit-type": "ndarray"}
        if issubclass(cls, np.generic):
            return _numpy_scalar(np, cls)
    pd = sys.modules.get("pandas")
    if pd is not None:
        if issubclass(cls, pd.Series):
            return _series()
        if issubclass(cls, pd.DataFrame):
            return {"type": "object", "additionalProperties": _series()}
    return None


def _numpy_scalar(np: Any, cls: type) -> Dict[str, Any]:
    """A numpy scalar type: what its values travel as."""
    for base, name in ((np.bool_, "boolean"), (np.integer, "integer"), (np.floating, "number"), (np.datetime64, "string")):
        if issubclass(cls, base):
            return {"type": name}
    return _unknown(cls)  # str_ and bytes_ are str and bytes, matched before


def _ndarray(np: Any, args: Tuple[Any, ...]) -> Dict[str, Any]:
    """``np.ndarray[shape, np.dtype[X]]`` (``NDArray[X]``): with X's dtype when it travels."""
    schema: Dict[str, Any] = {"x-snakepit-type": "ndarray"}
    dtype = args[1] if len(args) == 2 else None
    if typing.get_origin(dtype) is np.dtype and typing.get_args(dtype):
        scalar = typing.get_args(dtype)[0]
        names = {np.dtype(name).type: name for name in FORMATS}
        if isinstance(scalar, type) and scalar in names:
            schema["dtype"] = names[scalar]
    return schema


def _series() -> Dict[str, Any]:
    """A Series travels as an array: an ndarray when numeric, a plain array otherwise."""
    return {"anyOf": [{"x-snakepit-type": "ndarray"}, {"type": "array"}]}


def _enum(cls: type) -> Dict[str, Any]:
    """An Enum: its members' values (members travel as their values)."""
    if issubclass(cls, enum.Flag):  # members combine: any integer of their bits
        return {"type": "integer"}
    values: List[Any] = []
    for member in cls:  # type: ignore[var-annotated]
        value = json_value(member.value)
        if value is _NOT_JSON:
            return {"description": f"enum {_annotation_text(cls)} has values JSON cannot hold"}
        _add_unique(values, value)
    return {"enum": values}


def _literal(hint: Any, args: Tuple[Any, ...]) -> Dict[str, Any]:
    """``Literal[...]``: ``const`` for one value, ``enum`` for more."""
    values: List[Any] = []
    for arg in args:
        value = json_value(arg)
        if value is _NOT_JSON:
            return _unknown(hint)
        _add_unique(values, value)
    return {"const": values[0]} if len(values) == 1 else {"enum": values}


def _is_named(cls: type) -> bool:
    """Classes that get a definition of their own in ``$defs``."""
    return (
        issubclass(cls, enum.Enum)
        or _is_typeddict(cls)
        or _is_namedtuple(cls)
        or dataclasses.is_dataclass(cls)
        or _is_pydantic(cls)
    )


def _is_typeddict(cls: type) -> bool:
    """A TypedDict class (typing's or typing_extensions')."""
    return issubclass(cls, dict) and hasattr(cls, "__required_keys__")


def _is_namedtuple(cls: type) -> bool:
    """A NamedTuple class (it travels as an object of its fields)."""
    return issubclass(cls, tuple) and hasattr(cls, "_fields")


def _is_pydantic(cls: type) -> bool:
    """A pydantic v2 model, by its methods (pydantic itself is not imported here)."""
    return callable(getattr(cls, "model_json_schema", None)) and hasattr(cls, "model_fields")


def _field_default(field: Any) -> Any:
    """A dataclass field's default; _MISSING when it has none, _NOT_JSON for a factory."""
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return _NOT_JSON  # not required, and no default shown (the factory is not called)
    return _MISSING


def _own_doc(cls: type) -> Optional[str]:
    """The class's own docstring; not one made up by dataclass or NamedTuple (``Point(x, y)``)
    or by Enum before 3.11."""
    doc = cls.__dict__.get("__doc__")
    if not isinstance(doc, str) or doc.startswith(cls.__name__ + "(") or doc == "An enumeration.":
        return None
    return doc


# -- schema helpers ------------------------------------------------------------------------


def _unknown(hint: Any) -> Dict[str, Any]:
    """An open schema that names the hint no schema was derived for."""
    return {"description": f"Python type {_annotation_text(hint)} (no schema derived)"}


def _array(items: Dict[str, Any]) -> Dict[str, Any]:
    """An array of ``items`` (any items when ``items`` is empty)."""
    return {"type": "array", "items": items} if items else {"type": "array"}


def _described(schema: Dict[str, Any], metadata: Iterable[Any]) -> Dict[str, Any]:
    """``Annotated[X, "text", ...]``: X, its strings as its description."""
    texts = [m for m in metadata if isinstance(m, str)]
    return {**schema, "description": " ".join(texts)} if texts else schema


def _union(schemas: List[Dict[str, Any]]) -> Dict[str, Any]:
    """One schema for any of ``schemas``: a type list when all are plain types, else anyOf."""
    members: List[Dict[str, Any]] = []
    for schema in schemas:
        for member in schema["anyOf"] if list(schema) == ["anyOf"] else [schema]:
            if _is_open(member):
                return {}  # one open member: open
            _add_unique(members, member)
    if len(members) == 1:
        return members[0]
    if all(list(m) == ["type"] for m in members):
        names: List[str] = []
        for m in members:
            for name in m["type"] if isinstance(m["type"], list) else [m["type"]]:
                _add_unique(names, name)
        return {"type": names}
    return {"anyOf": members}


def _is_open(schema: Dict[str, Any]) -> bool:
    """Whether ``schema`` accepts any value (it may still describe it)."""
    return all(key in ("title", "description", "default") for key in schema)


def _allows_null(schema: Dict[str, Any]) -> bool:
    """Whether ``schema`` accepts null (a ``$ref`` is taken as not)."""
    if _is_open(schema) or schema.get("const", 0) is None or None in schema.get("enum", ()):
        return True
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    return any(_allows_null(m) for m in schema.get("anyOf", ()))


def _add_unique(items: List[Any], item: Any) -> None:
    """Append ``item`` unless an equal JSON value is there (``1`` and ``True`` differ)."""
    key = json.dumps(item, sort_keys=True)
    if all(json.dumps(x, sort_keys=True) != key for x in items):
        items.append(item)


def json_value(value: Any, depth: int = 0) -> Any:
    """``value`` as a JSON value (tuples as lists, Enum members as their values), or _NOT_JSON
    when it has none (NaN, big ints, bytes, objects, sets, whose order is not stable)."""
    if depth > _JSON_DEPTH:
        return _NOT_JSON
    if isinstance(value, enum.Enum):
        return json_value(value.value, depth + 1)
    if value is None or isinstance(value, bool):
        return value if value is None else bool(value)
    if isinstance(value, int):
        return int(value) if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else _NOT_JSON
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else _NOT_JSON
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (list, tuple)):
        items = [json_value(v, depth + 1) for v in value]
        return _NOT_JSON if any(v is _NOT_JSON for v in items) else items
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            return _NOT_JSON
        entries = {str(k): json_value(v, depth + 1) for k, v in value.items()}
        return _NOT_JSON if any(v is _NOT_JSON for v in entries.values()) else entries
    return _NOT_JSON


# -- docstrings ----------------------------------------------------------------------------


class Docstring(NamedTuple):
    """What a docstring says: its summary, and the texts of its parameters, attributes,
    return value and yielded values."""

    summary: str
    params: Dict[str, str]
    attributes: Dict[str, str]
    returns: str
    yields: str


# Section names (lower case) of Google and NumPy docstrings, and what they describe; None: a
# section that ends the one before it, and is not read.
_SECTIONS: Dict[str, Optional[str]] = {
    **dict.fromkeys(
        ["args", "arguments", "parameters", "params", "keyword args", "keyword arguments", "other parameters"],
        "params",
    ),
    **dict.fromkeys(["attributes", "fields", "keys"], "attributes"),
    **dict.fromkeys(["returns", "return"], "returns"),
    **dict.fromkeys(["yields", "yield"], "yields"),
    **dict.fromkeys(
        ["raises", "raise", "warns", "examples", "example", "notes", "note", "see also", "references",
         "warnings", "warning", "todo", "methods"],
        None,
    ),
}
_GOOGLE_HEADER = re.compile(r"([A-Za-z][A-Za-z ]*):\s*")
_UNDERLINE = re.compile(r"-{3,}\s*")
_REST_FIELD = re.compile(r":(\w+)((?:\s+[^:]+?)?)\s*:(.*)")
_REST_KINDS = {
    **dict.fromkeys(["param", "parameter", "arg", "argument", "key", "keyword"], "params"),
    **dict.fromkeys(["ivar", "var", "cvar"], "attributes"),
    **dict.fromkeys(["returns", "return"], "returns"),
    **dict.fromkeys(["yields", "yield"], "yields"),
}
_GOOGLE_ENTRY = re.compile(r"\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)")
_NUMPY_ENTRY = re.compile(r"(\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)*)\s*(?::.*)?")
_TYPE_PREFIX = re.compile(r"[\w.]+(?:\[.*?\])?(?:\s*\|\s*[\w.]+(?:\[.*?\])?)*\s*:\s+")


class _Section(NamedTuple):
    """One section of a docstring, its lines without its header."""

    kind: Optional[str]  # "params", "attributes", "returns", "yields", None
    style: str  # "google", "numpy" or "rest"
    lines: List[str]
    name: str = ""  # a reST field's name (``:param name:``)


def parse_docstring(doc: Optional[str]) -> Docstring:
    """Read a Google-style (``Args:``), NumPy-style (``Parameters`` over ``----------``) or
    reST-style (``:param x:``) docstring."""
    if not doc:
        return Docstring("", {}, {}, "", "")
    intro, sections = _split_sections(inspect.cleandoc(doc).splitlines())
    found: Dict[str, Any] = {"params": {}, "attributes": {}, "returns": "", "yields": ""}
    for section in sections:
        if section.kind in ("params", "attributes"):
            found[section.kind].update(_entries(section))
        elif section.kind in ("returns", "yields") and not found[section.kind]:
            found[section.kind] = _section_text(section)
    return Docstring(_text(_first_paragraph(intro)), found["params"], found["attributes"], found["returns"], found["yields"])


def _split_sections(lines: List[str]) -> Tuple[List[str], List[_Section]]:
    """The lines before the first section, and the sections."""
    intro: List[str] = []
    sections: List[_Section] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        google = _GOOGLE_HEADER.fullmatch(line)
        field = _REST_FIELD.fullmatch(line)
        if _is_numpy_header(lines, i):
            end = _numpy_end(lines, i + 2)
            sections.append(_Section(_SECTIONS.get(line.strip().lower()), "numpy", lines[i + 2:end]))
        elif google and google.group(1).lower() in _SECTIONS:
            end = _indented_end(lines, i + 1)
            sections.append(_Section(_SECTIONS[google.group(1).lower()], "google", lines[i + 1:end]))
        elif field:
            end = _indented_end(lines, i + 1)
            sections.append(_rest_field(field, lines[i + 1:end]))
        else:
            end = i + 1
            if not sections:
                intro.append(line)
        i = end
    return intro, sections


def _rest_field(match: Any, rest: List[str]) -> _Section:
    """``:param [type] name: text`` (and ``:returns:``, ``:ivar name:``, ...) as a section."""
    words = match.group(2).split()
    return _Section(_REST_KINDS.get(match.group(1)), "rest", [match.group(3), *rest], words[-1] if words else "")


def _is_numpy_header(lines: List[str], i: int) -> bool:
    """Whether line ``i`` is a NumPy section's name: unindented, over a line of dashes."""
    line = lines[i]
    return i + 1 < len(lines) and bool(_UNDERLINE.fullmatch(lines[i + 1])) and bool(line.strip()) and not line[0].isspace()


def _numpy_end(lines: List[str], start: int) -> int:
    """Where a NumPy section starting at ``start`` ends: at the next header, or the end."""
    return next((i for i in range(start, len(lines)) if _is_numpy_header(lines, i)), len(lines))


def _indented_end(lines: List[str], start: int) -> int:
    """Where the indented (or blank) lines from ``start`` end."""
    i = start
    while i < len(lines) and (not lines[i].strip() or lines[i][0].isspace()):
        i += 1
    return i


def _entries(section: _Section) -> Dict[str, str]:
    """Name -> text of each entry of a parameters or attributes section."""
    if section.style == "rest":
        return {section.name: _text(section.lines)} if section.name else {}
    out: Dict[str, str] = {}
    for head, rest in _blocks(section.lines):
        if section.style == "google":
            match = _GOOGLE_ENTRY.fullmatch(head)
            if match:
                out[match.group(1)] = _text([match.group(2), *rest])
        else:
            match = _NUMPY_ENTRY.fullmatch(head)
            if match:
                for name in match.group(1).split(","):
                    out[name.strip().lstrip("*")] = _text(rest)
    return out


def _section_text(section: _Section) -> str:
    """The text of a Returns or Yields section (without the type a Google one starts with)."""
    if section.style == "rest":
        return _text(section.lines)
    if section.style == "google":
        text = _text(_dedent(section.lines))
        prefix = _TYPE_PREFIX.match(text)
        return text[prefix.end():] if prefix else text
    return " ".join(t for t in (_text(rest) for _, rest in _blocks(section.lines)) if t)


def _blocks(lines: List[str]) -> List[Tuple[str, List[str]]]:
    """Entries: a line at the section's own indentation, and the lines indented under it."""
    blocks: List[Tuple[str, List[str]]] = []
    for line in _dedent(lines):
        if line.strip() and not line[0].isspace():
            blocks.append((line.strip(), []))
        elif blocks:
            blocks[-1][1].append(line)
    return blocks


def _dedent(lines: List[str]) -> List[str]:
    """``lines`` without the indentation they all share."""
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    cut = min(indents, default=0)
    return [line[cut:] for line in lines]


def _first_paragraph(lines: List[str]) -> List[str]:
    """The lines of the first paragraph of ``lines``."""
    out: List[str] = []
    for line in lines:
        if not line.strip():
            if out:
                break
            continue
        out.append(line)
    return out


def _text(lines: Iterable[str]) -> str:
    """Lines as text: each paragraph's lines joined by spaces, paragraphs by a blank line."""
    paragraphs: List[List[str]] = [[]]
    for line in lines:
        if line.strip():
            paragraphs[-1].append(line.strip())
        elif paragraphs[-1]:
            paragraphs.append([])
    return "\n\n".join(" ".join(p) for p in paragraphs if p)
