"""BaseAdapter: tool discovery, description and lifecycle hooks."""
import inspect
import logging
import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from ._decorators import ToolSpec, tool_spec
from ._invoke import describe_parameters
from ._schema import tool_schemas
from ._session import SessionContext, get_current_session

_INDEX_ATTR = "_snakepit_tool_index"
_EVENT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


class BaseAdapter:
    """Base class for adapters. Subclass it and mark methods with ``@tool``.

    The worker creates one instance (no arguments), calls ``on_start`` once,
    serves tool calls, and calls ``on_stop`` once at graceful shutdown.

    Set ``thread_safe = True`` on an adapter whose tools may run concurrently, in threads of
    one process: only such adapters are accepted by the thread profile
    (``workerProfile: 'thread'``), which runs several calls at once in each worker.
    """

    thread_safe: bool = False

    @classmethod
    def preload(cls) -> None:
        """Called once per process before the adapter is first created: import or load here
        what every worker needs and never changes (large modules, read-only data). In a pool
        that forks its workers (``workers.start: 'fork'``) it runs once, in the pool's
        template process, before any worker is forked from it, so that every worker starts
        with it in memory shared copy-on-write; a spawned worker runs it itself. In a template
        it must not start threads, open gRPC channels or servers, or hold locks: a fork keeps
        only the forking thread."""

    def on_start(self) -> None:
        """Called once after the adapter is created, before the worker is ready."""

    def on_stop(self) -> None:
        """Called once at graceful shutdown, after in-flight calls finished."""

    @property
    def session_context(self) -> SessionContext:
        """The SessionContext of the tool call running now (sync or async);
        RuntimeError outside a tool call."""
        return get_current_session()

    def emit(
        self,
        name: str,
        measurements: Optional[Mapping[str, Any]] = None,
        metadata: Optional[Mapping[str, Any]] = None,
    ) -> None:
        """Emit a telemetry event to the host, which re-emits it as ``snakepit.python.<name>``
        with this worker's id (and the session of the current call, if any). It does not wait
        for the host; ``measurements`` and ``metadata`` must be JSON objects."""
        if not isinstance(name, str) or not _EVENT_NAME.fullmatch(name):
            raise ValueError(
                f"event name must be 1-128 letters, digits, '_', '.' or '-', got {name!r}"
            )
        for label, value in (("measurements", measurements), ("metadata", metadata)):
            if value is not None and not isinstance(value, Mapping):
                raise TypeError(f"{label} must be a dict, got {type(value).__name__}")
        from ._host_client import get_client
        from ._host_errors import HostError

        try:
            context = get_current_session()
            session_id = "" if context.ephemeral else context.session_id
        except RuntimeError:  # outside a tool call (on_start, a background thread)
            session_id = ""
        try:
            client = get_client()
        except HostError as exc:  # no host (the adapter runs under a plain test, or a script)
            logging.getLogger("snakepit_bridge").debug("event %r not sent: %s", name, exc)
            return
        client.emit(name, dict(measurements or {}), dict(metadata or {}), session_id)

    @classmethod
    def tool_index(cls) -> Dict[str, Tuple[str, ToolSpec]]:
        """Map tool name -> (attribute name, spec), built once per class."""
        index = cls.__dict__.get(_INDEX_ATTR)
        if index is None:
            index = _build_index(cls)
            setattr(cls, _INDEX_ATTR, index)
        return index

    def tools(self) -> Dict[str, Callable[..., Any]]:
        """Map tool name -> bound callable."""
        return {name: getattr(self, attr) for name, (attr, _) in self.tool_index().items()}

    def describe_tools(self) -> List[Dict[str, Any]]:
        """Name, description, streaming flag, parameters and schemas of every tool, sorted by name."""
        out = []
        for name, (attr, spec) in sorted(self.tool_index().items()):
            out.append(
                {
                    "name": name,
                    "description": spec.description,
                    "supports_streaming": spec.supports_streaming,
                    "parameters": describe_parameters(getattr(self, attr)),
                    "schemas": _schemas(getattr(self, attr), spec),
                }
            )
        return out


def _schemas(fn: Callable[..., Any], spec: ToolSpec) -> Dict[str, Any]:
    """The tool's JSON Schemas; its description is the tool's own (``@tool(description=...)``
    or the docstring's summary), which Describe carries beside them."""
    schemas = tool_schemas(fn, streaming=spec.supports_streaming)
    schemas["description"] = spec.description
    return schemas


def _build_index(cls: type) -> Dict[str, Tuple[str, ToolSpec]]:
    index: Dict[str, Tuple[str, ToolSpec]] = {}
    owners: Dict[str, Any] = {}
    for attr in dir(cls):
        if attr.startswith("__"):
            continue
        try:
            raw = inspect.getattr_static(cls, attr)
        except AttributeError:
            continue
        spec = tool_spec(raw)
        if spec is None:
            continue
        name = spec.name or attr
        fn = raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else raw
        if name in index and owners[name] is not fn:
            raise TypeError(
                f"{cls.__qualname__}: tool name {name!r} is used by both "
                f"{index[name][0]!r} and {attr!r}"
            )
        index[name] = (attr, spec)
        owners[name] = fn
    return index
