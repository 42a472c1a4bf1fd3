"""The Worker service (Ping, Describe, Execute, ExecuteStream, Cancel), independent of
the transport."""
import json
import os
import sys
import threading
import time
from contextvars import copy_context
from typing import Any, Dict, Iterator

from . import PROTOCOL_VERSION
from . import _tracing as tracing
from ._adapter import BaseAdapter
from ._codec import bridge_error_reply, decode_args, exception_reply, result_reply
from ._errors import NotAStreamingToolError, StreamingToolError, UnknownToolError
from ._invoke import Invoker, make_invoker
from ._messages import pb2
from ._protocol import DEFAULT_MAX_MESSAGE_BYTES
from ._session import CancelFlag, SessionContext, current_session
from ._streaming import iterate, stream_style

# How long a Cancel for a call that has not started yet is remembered, and how many at most.
EARLY_CANCEL_TTL_S = 30.0
MAX_EARLY_CANCELS = 256

_session_for = SessionContext.for_request
_set_session = current_session.set
_reset_session = current_session.reset
_Event = threading.Event


class Worker:
    """Runs tool calls against one adapter instance.

    Methods take request messages and return *serialized* replies (bytes), so
    the gRPC layer registers them without a response serializer.
    """

    def __init__(
        self,
        adapter: BaseAdapter,
        adapter_name: str = "",
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        self.adapter = adapter
        self.adapter_name = adapter_name or _class_path(adapter)
        self.max_message_bytes = max_message_bytes
        self._invokers: Dict[str, Invoker] = {}
        # Streaming tools: name -> (style, invoker). Execute gets a refusal for them instead,
        # so the Execute hot path needs no extra check.
        self._streams: Dict[str, Any] = {}
        specs = adapter.tool_index()
        for name, fn in adapter.tools().items():
            if specs[name][1].supports_streaming:
                self._streams[name] = (stream_style(fn), make_invoker(fn))
                self._invokers[name] = _refuse_execute(name)
            else:
                self._invokers[name] = make_invoker(fn)
        self._available = sorted(self._invokers)
        self._lock = threading.Lock()
        self._running: Dict[str, Any] = {}  # request_id -> cancel Event (CancelFlag for Execute)
        self._early_cancels: Dict[str, float] = {}  # request_id -> when a Cancel came before it
        self._in_flight = 0
        self._pid = os.getpid()
        self._describe_reply = self._build_describe().SerializeToString()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def ping(self, request: Any = None, context: Any = None) -> bytes:
        return pb2.PingReply(pid=self._pid, in_flight=self._in_flight).SerializeToString()

    def describe(self, request: Any = None, context: Any = None) -> bytes:
        return self._describe_reply

    def execute(self, request: Any, context: Any = None) -> bytes:
        tool = request.tool
        invoker = self._invokers.get(tool)
        if invoker is None:
            return self._unknown_tool(tool)
        session = _session_for(request)
        session.traceparent, session.tracestate = tracing.incoming(context, request)
        rid = request.request_id
        cancel = session._cancel = CancelFlag()  # session_context.cancelled
        self._begin(rid, cancel)
        token = _set_session(session)  # read by BaseAdapter.session_context
        try:
            with tracing.continued(session.traceparent, session.tracestate):
                result = invoker(decode_args(request.args))
            return result_reply(tool, result, self.max_message_bytes)
        except BaseException as exc:  # report everything, SystemExit included
            return exception_reply(exc, self.max_message_bytes)
        finally:
            if session.outputs is not None:
                session.release_outputs()
            _reset_session(token)
            self._end(rid, cancel)

    def execute_stream(self, request: Any, context: Any = None) -> Iterator[bytes]:
        """Serialized StreamChunks: the tool's chunks, then one with final = true (its
        return value as data, if any; cancelled = true after a Cancel), or an error chunk."""
        tool = request.tool
        entry = self._streams.get(tool)
        if entry is None:
            if tool in self._invokers:
                yield bridge_error_reply(NotAStreamingToolError(
                    f"tool {tool!r} of adapter {self.adapter_name} does not stream; "
                    "call it with execute (not executeStream), or mark it "
                    "@tool(supports_streaming=True)",
                    {"tool": tool},
                ), self.max_message_bytes)
            else:
                yield self._unknown_tool(tool)
            return
        style, invoker = entry
        session = _session_for(request)
        session.traceparent, session.tracestate = tracing.incoming(context, request)
        rid = request.request_id
        cancel = session._cancel = _Event()
        self._begin(rid, cancel)
        try:
            if context is not None:
                try:  # the caller went away (or the call ended): stop the tool
                    context.add_callback(cancel.set)
                except Exception:
                    pass
            try:
                args = decode_args(request.args)
            except BaseException as exc:
                yield exception_reply(exc, self.max_message_bytes)
                return
            ctx = copy_context()  # the tool's own context, entered only by the tool's code
            ctx.run(_set_session, session)
            ctx.run(tracing.enter, session.traceparent, session.tracestate)
            yield from iterate(
                style, tool, invoker, args, ctx, cancel, context, self.max_message_bytes
            )
        finally:
            session.release_outputs()
            self._end(rid, cancel)

    def _begin(self, rid: str, cancel: Any) -> None:
        """A call starts: counted in flight, and cancellable by its request id (a Cancel that
        overtook it applies at once)."""
        with self._lock:
            self._in_flight += 1
            if rid:
                self._running[rid] = cancel
                if self._early_cancels:
                    at = self._early_cancels.pop(rid, None)
                    if at is not None and time.monotonic() - at <= EARLY_CANCEL_TTL_S:
                        cancel.set()

    def _end(self, rid: str, cancel: Any) -> None:
        with self._lock:
            self._in_flight -= 1
            if rid and self._running.get(rid) is cancel:
                del self._running[rid]

    def cancel(self, request: Any, context: Any = None) -> bytes:
        """Ask the running call ``request.request_id`` to stop; found = false when there is
        none (it had finished, or never started)."""
        return pb2.CancelReply(found=self.cancel_request(request.request_id)).SerializeToString()

    def cancel_request(self, rid: str) -> bool:
        """Ask the running call ``rid`` to stop; False when there is none (yet)."""
        with self._lock:
            event = self._running.get(rid) if rid else None
            if event is None and rid:
                # The call may not have started yet (a stream starts when gRPC first pulls it):
                # remember the cancel for a while, so that it is not lost; the oldest are
                # forgotten first, and none is kept past EARLY_CANCEL_TTL_S.
                now = time.monotonic()
                for old, at in list(self._early_cancels.items()):
                    if now - at > EARLY_CANCEL_TTL_S or len(self._early_cancels) >= MAX_EARLY_CANCELS:
                        del self._early_cancels[old]
                    else:
                        break
                self._early_cancels[rid] = now
        if event is not None:
            event.set()
        return event is not None

    def _unknown_tool(self, tool: str) -> bytes:
        listed = ", ".join(self._available) or "(none)"
        err = UnknownToolError(
            f"unknown tool {tool!r} for adapter {self.adapter_name}; available: {listed}",
            {"available": self._available},
        )
        return bridge_error_reply(err, self.max_message_bytes)

    def _build_describe(self) -> Any:
        tools = [
            pb2.ToolInfo(
                name=t["name"],
                description=t["description"],
                supports_streaming=t["supports_streaming"],
                parameters_json=json.dumps(t["parameters"], separators=(",", ":")).encode(),
                schema_json=json.dumps(t["schemas"], separators=(",", ":")).encode(),
            )
            for t in self.adapter.describe_tools()
        ]
        return pb2.DescribeReply(
            protocol_version=PROTOCOL_VERSION,
            adapter=self.adapter_name,
            tools=tools,
            python_version=sys.version.split()[0],
        )


def _refuse_execute(tool: str) -> Invoker:
    def refuse(args: Dict[str, Any]) -> Any:
        raise StreamingToolError(
            f"tool {tool!r} streams its results; call it with executeStream (not execute)",
            {"tool": tool},
        )

    return refuse


def _class_path(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}:{cls.__qualname__}"
