"""The Worker service (Ping, Describe, Execute), independent of the transport."""
import json
import os
import sys
import threading
from typing import Any

from . import PROTOCOL_VERSION
from .adapter import BaseAdapter
from .codec import bridge_error_reply, decode_args, exception_reply, result_reply
from .errors import UnknownToolError
from .invoke import make_invoker
from .messages import pb2
from .protocol import DEFAULT_MAX_MESSAGE_BYTES
from .session import SessionContext, current_session

_session_for = SessionContext.for_request
_set_session = current_session.set
_reset_session = current_session.reset


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
        self._invokers = {name: make_invoker(fn) for name, fn in adapter.tools().items()}
        self._available = sorted(self._invokers)
        self._lock = threading.Lock()
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
        lock = self._lock
        with lock:
            self._in_flight += 1
        token = _set_session(_session_for(request))  # read by BaseAdapter.session_context
        try:
            result = invoker(decode_args(request.args_json))
            return result_reply(tool, result, self.max_message_bytes)
        except BaseException as exc:  # report everything, SystemExit included
            return exception_reply(exc, self.max_message_bytes)
        finally:
            _reset_session(token)
            with lock:
                self._in_flight -= 1

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
            )
            for t in self.adapter.describe_tools()
        ]
        return pb2.DescribeReply(
            protocol_version=PROTOCOL_VERSION,
            adapter=self.adapter_name,
            tools=tools,
            python_version=sys.version.split()[0],
        )


def _class_path(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}:{cls.__qualname__}"
