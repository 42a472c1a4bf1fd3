"""An in-process fake of the host's ``snakepit.bridge.Host`` gRPC service, for tests."""
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Tuple

from tests.support import standalone_json, value_of, wire_value

SECRET = "test-secret"


class FakeHost:
    """Serves Host on ``address`` (port 0 picks one); records every call.

    Sessions "s1" and "s2" exist; tools: add, blob, echo, invalid, boom.
    """

    def __init__(self, address: str = "127.0.0.1:0", secret: str = SECRET) -> None:
        import grpc

        from snakepit_bridge._messages import pb2

        self.pb2 = pb2
        self.secret = secret
        self.sessions: Dict[str, Dict[str, bytes]] = {"s1": {}, "s2": {}}
        self.calls: List[Tuple[str, Any]] = []
        self.secrets_seen: List[str] = []
        self._lock = threading.Lock()
        self._grpc = grpc

        def handler(fn: Any, request: Any) -> Any:
            return grpc.unary_unary_rpc_method_handler(
                self._guard(fn),
                request_deserializer=request.FromString,
                response_serializer=lambda m: m.SerializeToString(),
            )

        handlers = {
            "ListTools": handler(self.list_tools, pb2.ListHostToolsRequest),
            "CallTool": handler(self.call_tool, pb2.CallHostToolRequest),
            "GetState": handler(self.get_state, pb2.StateKey),
            "SetState": handler(self.set_state, pb2.SetStateRequest),
            "DeleteState": handler(self.delete_state, pb2.StateKey),
        }
        self.server = grpc.server(
            ThreadPoolExecutor(max_workers=4, thread_name_prefix="fake-host"),
            handlers=(grpc.method_handlers_generic_handler("snakepit.bridge.Host", handlers),),
        )
        port = self.server.add_insecure_port(address)
        self.address = address if address.startswith("unix:") else f"127.0.0.1:{port}"
        self.server.start()

    def stop(self) -> None:
        self.server.stop(None)

    def count(self, method: str) -> int:
        with self._lock:
            return sum(1 for name, _ in self.calls if name == method)

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.secrets_seen.clear()
            self.sessions = {"s1": {}, "s2": {}}

    def _guard(self, fn: Any) -> Any:
        def run(request: Any, context: Any) -> Any:
            secret = dict(context.invocation_metadata()).get("x-snakepit-secret", "")
            with self._lock:
                self.calls.append((fn.__name__, request))
                self.secrets_seen.append(secret)
            if secret != self.secret:
                context.abort(self._grpc.StatusCode.UNAUTHENTICATED, "bad or missing secret")
            return fn(request)

        return run

    # -- replies ----------------------------------------------------------------------

    def _ok(self, value: Any = None, found: bool = False) -> Any:
        pb2 = self.pb2
        return pb2.HostReply(result=wire_value(value), found=found)

    def _error(self, type_name: str, message: str, code: str, **details: Any) -> Any:
        info = self.pb2.ErrorInfo(
            type=type_name, message=message,
            details_json=json.dumps({"code": code, **details}).encode(),
        )
        return self.pb2.HostReply(error=info)

    def _session(self, session_id: str) -> Any:
        with self._lock:
            return self.sessions.get(session_id)

    def _no_session(self, session_id: str) -> Any:
        return self._error("SessionNotFoundError", f"session {session_id!r} not found",
                           "SESSION_NOT_FOUND", session_id=session_id)

    # -- the service ------------------------------------------------------------------

    def list_tools(self, request: Any) -> Any:
        pb2 = self.pb2
        params = json.dumps({"type": "object", "properties": {"a": {}, "b": {}}}).encode()
        return pb2.ListHostToolsReply(tools=[
            pb2.HostToolInfo(name="add", description="a + b", parameters_json=params),
            pb2.HostToolInfo(name="echo", description="echo the call"),
        ])

    def call_tool(self, request: Any) -> Any:
        if request.session_id and self._session(request.session_id) is None:
            return self._no_session(request.session_id)
        args = value_of(request.args) or {}
        if request.name == "add":
            return self._ok(args["a"] + args["b"])
        if request.name == "blob":
            return self._ok(bytes(range(args.get("n", 4))))
        if request.name == "echo":
            return self._ok({"args": args, "session_id": request.session_id,
                             "worker_id": request.worker_id})
        if request.name == "invalid":
            return self._error("HostToolValidationError", "a must be a number",
                               "INVALID_ARGUMENTS", field="a")
        if request.name == "boom":
            return self._error("Error", "the host tool blew up", "TOOL_FAILED")
        return self._error("HostToolNotFoundError", f"no host tool named {request.name!r}",
                           "HOST_TOOL_NOT_FOUND")

    def get_state(self, request: Any) -> Any:
        state = self._session(request.session_id)
        if state is None:
            return self._no_session(request.session_id)
        raw = state.get(request.key)
        if raw is None:
            return self.pb2.HostReply(found=False)
        return self.pb2.HostReply(result=self.pb2.Value(json=raw, tags=1), found=True)

    def set_state(self, request: Any) -> Any:
        state = self._session(request.session_id)
        if state is None:
            return self._no_session(request.session_id)
        # The host keeps a value that stands alone: buffers inside the text.
        state[request.key] = standalone_json(value_of(request.value), request.key)
        return self._ok(None)

    def delete_state(self, request: Any) -> Any:
        state = self._session(request.session_id)
        if state is None:
            return self._no_session(request.session_id)
        state.pop(request.key, None)
        return self._ok(None)
