"""The worker's client of the host's ``snakepit.bridge.Host`` service, one per process.

A worker the host started learns the host's address and per-boot secret from the secrets
pipe (``configure(host=...)``), never from the environment, so neither a tool, nor what it
starts, nor another process reading /proc/<pid>/environ finds the secret there. A worker run
by hand may give them as SNAKEPIT_HOST_ADDRESS and SNAKEPIT_HOST_SECRET, which are taken out
of ``os.environ`` at start-up (``take_host_env``). Every call carries the secret as
"x-snakepit-secret" metadata. grpc is imported on first use.
"""
import logging
import os
import threading
from typing import Any, Dict, List, Mapping, MutableMapping, Optional, Sequence, Tuple

from ._codec import decode_value, drop_segments, dump_json, standalone_json, value_message
from ._host_errors import HostError, HostToolError, error_from_info, not_configured, unavailable_from_rpc
from ._protocol import DEFAULT_MAX_MESSAGE_BYTES
from ._ttl_cache import MISS, TtlCache

HOST_SERVICE = "snakepit.bridge.Host"
SECRET_METADATA = "x-snakepit-secret"
ENV_ADDRESS = "SNAKEPIT_HOST_ADDRESS"
ENV_SECRET = "SNAKEPIT_HOST_SECRET"
ENV_WORKER_ID = "SNAKEPIT_WORKER_ID"
ENV_CACHE_TTL_MS = "SNAKEPIT_STATE_CACHE_TTL_MS"
ENV_CALL_TIMEOUT_MS = "SNAKEPIT_HOST_CALL_TIMEOUT_MS"
DEFAULT_CACHE_TTL_MS = 1000
DEFAULT_CALL_TIMEOUT_MS = 30000


_log = logging.getLogger("snakepit_bridge")
# Events on their way to the host at once; a tool emitting faster than the host takes them loses the rest.
MAX_EMITS_IN_FLIGHT = 1000


class HostClient:
    """Calls to the host; the host's tool list is cached for ``cache_ttl`` seconds.

    Session state is not cached here: the state methods take an optional ``cache``
    (a TtlCache owned by one SessionContext, i.e. one tool call). With one, reads are
    cached per (session_id, key) for that cache's TTL, writes go through to the host and
    refresh the entry, and deletes (or failed writes) drop it.
    """

    def __init__(
        self,
        address: str,
        secret: str,
        *,
        worker_id: str = "",
        timeout: float = DEFAULT_CALL_TIMEOUT_MS / 1000,
        cache_ttl: float = DEFAULT_CACHE_TTL_MS / 1000,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        import grpc

        from ._messages import pb2

        self.address = address
        self.worker_id = worker_id
        self.timeout = timeout
        self.cache_ttl = cache_ttl
        self._tools_cache = TtlCache(cache_ttl)
        self._metadata = ((SECRET_METADATA, secret),)
        self._rpc_error = grpc.RpcError
        self._pb2 = pb2
        self._channel = grpc.insecure_channel(
            address,
            options=[
                ("grpc.max_send_message_length", max_message_bytes),
                ("grpc.max_receive_message_length", max_message_bytes),
                # The host is local: never route it (and the secret) through a proxy
                # named by http_proxy / https_proxy / grpc_proxy.
                ("grpc.enable_http_proxy", 0),
            ],
        )

        def stub(method: str, request: Any, reply: Any) -> Any:
            return self._channel.unary_unary(
                f"/{HOST_SERVICE}/{method}",
                request_serializer=request.SerializeToString,
                response_deserializer=reply.FromString,
            )

        self._list_tools = stub("ListTools", pb2.ListHostToolsRequest, pb2.ListHostToolsReply)
        self._call_tool = stub("CallTool", pb2.CallHostToolRequest, pb2.HostReply)
        self._get_state = stub("GetState", pb2.StateKey, pb2.HostReply)
        self._set_state = stub("SetState", pb2.SetStateRequest, pb2.HostReply)
        self._delete_state = stub("DeleteState", pb2.StateKey, pb2.HostReply)
        self._emit = stub("Emit", pb2.PythonEvent, pb2.HostReply)
        self._emit_lock = threading.Lock()
        self._emits_in_flight = 0
        self._emits_dropped = 0

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None, **options: Any) -> "HostClient":
        """A client configured from the SNAKEPIT_* variables of ``env`` (HostUnavailableError
        if the address or secret is unset). Without ``env``: the host address and secret
        taken at start-up (``take_host_env``) over the other variables of ``os.environ``."""
        env = _process.process_env() if env is None else env
        address, secret = env.get(ENV_ADDRESS, ""), env.get(ENV_SECRET, "")
        missing = [name for name, v in ((ENV_ADDRESS, address), (ENV_SECRET, secret)) if not v]
        if missing:
            raise not_configured(missing)
        timeout = _env_ms(env, ENV_CALL_TIMEOUT_MS, DEFAULT_CALL_TIMEOUT_MS)
        options.setdefault("timeout", timeout if timeout > 0 else DEFAULT_CALL_TIMEOUT_MS / 1000)
        options.setdefault("cache_ttl", _env_ms(env, ENV_CACHE_TTL_MS, DEFAULT_CACHE_TTL_MS))
        options["worker_id"] = env.get(ENV_WORKER_ID) or options.get("worker_id") or ""
        return cls(address, secret, **options)

    def close(self) -> None:
        self._channel.close()

    # -- host tools ---------------------------------------------------------------

    def list_tools(self) -> List[Dict[str, Any]]:
        """[{"name", "description", "parameters"}] of the host's tools (cached for the TTL)."""
        tools = self._tools_cache.get(None)
        if tools is MISS:
            generation = self._tools_cache.generation()
            reply = self._call("ListTools", self._list_tools, self._pb2.ListHostToolsRequest())
            tools = tuple((t.name, t.description, t.parameters_json) for t in reply.tools)
            self._tools_cache.put_if_unchanged(None, tools, generation)
        return [
            {"name": name, "description": desc, "parameters": _json_or_empty(params)}
            for name, desc, params in tools
        ]

    def call_tool(
        self, name: str, args: Dict[str, Any], session_id: str = "", trace: Sequence[Tuple[str, str]] = ()
    ) -> Any:
        """Run host tool ``name``; its result (JSON value, or bytes), or raise HostToolError.
        ``trace``: W3C trace headers that make the host's span of the tool a child of the caller's."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"host tool name must be a non-empty string, got {name!r}")
        request = self._pb2.CallHostToolRequest(
            name=name,
            args=value_message(args, f"host tool {name!r}", "args"),
            session_id=session_id,
            worker_id=self.worker_id,
        )
        reply = self._sending(request.args, lambda: self._call("CallTool", self._call_tool, request, trace))
        return decode_value(_result(reply, HostToolError))

    # -- events -------------------------------------------------------------------

    def emit(self, name: str, measurements: Any, metadata: Any, session_id: str = "") -> None:
        """Send an event to the host without waiting for it. At most MAX_EMITS_IN_FLIGHT are
        under way; more are dropped (and counted in the log). A failure is logged, never raised
        into the tool: telemetry must not break the work it describes."""
        with self._emit_lock:
            if self._emits_in_flight >= MAX_EMITS_IN_FLIGHT:
                self._emits_dropped += 1
                if self._emits_dropped % 1000 == 1:
                    _log.warning("dropped %d events: %d are already on their way to the host",
                                 self._emits_dropped, MAX_EMITS_IN_FLIGHT)
                return
            self._emits_in_flight += 1
        try:
            request = self._pb2.PythonEvent(
                name=name,
                measurements_json=dump_json(measurements, f"the measurements of event {name!r}"),
                metadata_json=dump_json(metadata, f"the metadata of event {name!r}"),
                worker_id=self.worker_id,
                session_id=session_id,
            )
            future = self._emit.future(request, timeout=self.timeout, metadata=self._metadata)
        except Exception as exc:  # a closed channel, an unserialisable value
            self._emit_done()
            _log.warning("event %r was not sent to the host: %s", name, exc)
            return
        future.add_done_callback(lambda done: (self._emit_done(), _log_emit_failure(name, done)))

    def _emit_done(self) -> None:
        with self._emit_lock:
            self._emits_in_flight -= 1

    # -- session state ------------------------------------------------------------

    def get_state(
        self, session_id: str, key: str, default: Any = None, cache: Optional[TtlCache] = None
    ) -> Any:
        """The value of ``key`` in the session, or ``default`` when it is not set
        (served from ``cache`` when it holds a live entry)."""
        cache_key = (session_id, key)
        value = MISS if cache is None else cache.get(cache_key)
        if value is MISS:
            generation = 0 if cache is None else cache.generation()
            request = self._pb2.StateKey(session_id=session_id, key=key)
            reply = self._call("GetState", self._get_state, request)
            result = _result(reply, HostError)
            value = result if reply.found else None
            if cache is not None:
                cache.put_if_unchanged(cache_key, value, generation)
        return default if value is None else decode_value(value)

    def set_state(
        self, session_id: str, key: str, value: Any, cache: Optional[TtlCache] = None
    ) -> None:
        """Store ``value`` (any value a tool may return, else TypeError) under ``key``."""
        payload = value_message(value, f"session state {key!r}")
        request = self._pb2.SetStateRequest(session_id=session_id, key=key, value=payload)
        cache_key = (session_id, key)
        try:
            _result(self._sending(payload, lambda: self._call("SetState", self._set_state, request)), HostError)
        except BaseException:
            if cache is not None:
                cache.delete(cache_key)
            raise
        if cache is not None:
            # The message's segments are the host's now: the cache keeps a copy that stands alone.
            standalone = payload if not payload.buffers else self._pb2.Value(json=standalone_json(value, key), tags=1)
            cache.put(cache_key, standalone)

    def delete_state(self, session_id: str, key: str, cache: Optional[TtlCache] = None) -> None:
        """Remove ``key`` from the session (no error when it is not set)."""
        request = self._pb2.StateKey(session_id=session_id, key=key)
        try:
            _result(self._call("DeleteState", self._delete_state, request), HostError)
        finally:
            if cache is not None:
                cache.delete((session_id, key))

    @staticmethod
    def _sending(value: Any, call: Any) -> Any:
        """``call()``, which sends ``value`` to the host; its segments go if the call fails on
        the way (once the host has the value, it removes them)."""
        try:
            return call()
        except BaseException:
            drop_segments(value)
            raise

    def _call(self, method: str, stub: Any, request: Any, extra: Sequence[Tuple[str, str]] = ()) -> Any:
        try:
            return stub(request, timeout=self.timeout, metadata=self._metadata + tuple(extra))
        except self._rpc_error as err:
            raise unavailable_from_rpc(err, method, self.address) from err


def _log_emit_failure(name: str, done: Any) -> None:
    error = done.exception()
    if error is None and done.result().WhichOneof("outcome") == "error":
        error = done.result().error.message
    if error is not None:
        _log.warning("event %r did not reach the host: %s", name, error)


def _result(reply: Any, fallback: type) -> Any:
    """The HostReply's result Value; its error raised as a HostError subclass."""
    if reply.WhichOneof("outcome") == "error":
        raise error_from_info(reply.error, fallback)
    return reply.result


def _json_or_empty(raw: bytes) -> Any:
    import json

    return json.loads(raw) if raw else {}


def _env_ms(env: Mapping[str, str], name: str, default_ms: int) -> float:
    """Seconds from a milliseconds variable; default when unset or invalid, 0 when negative."""
    try:
        ms = float(env.get(name, "") or default_ms)
    except ValueError:
        ms = default_ms
    return max(ms, 0.0) / 1000


# -- the process-wide client --------------------------------------------------------

_HOST_VARIABLES = (ENV_ADDRESS, ENV_SECRET)


class _ProcessHost:
    """The host as this process reaches it: its address and secret (taken out of the
    environment at start-up), the worker's settings, and one client, made on first use (and
    again after a fork)."""

    def __init__(self) -> None:
        self._env_lock = threading.RLock()
        self._client_lock = threading.Lock()
        self.host_env: Optional[Dict[str, str]] = None  # ENV_ADDRESS / ENV_SECRET, once taken
        self.settings: Dict[str, Any] = {}
        self._client: Optional[HostClient] = None
        self._client_pid = 0

    def take_host_env(self, environ: Optional[MutableMapping[str, str]] = None) -> None:
        """Move the host's address and secret out of ``environ`` (default ``os.environ``),
        replacing what an earlier call took, so that the subprocesses a tool starts do not
        inherit the secret. The worker calls it once at start-up, before loading the adapter;
        the client created next uses these values."""
        environ = os.environ if environ is None else environ
        with self._env_lock:
            taken = {}
            for name in _HOST_VARIABLES:
                value = environ.pop(name, None)
                if value is not None:
                    taken[name] = value
            self.host_env = taken

    def process_env(self) -> Dict[str, str]:
        """os.environ with the host variables taken at start-up (taken now if they were not:
        a client used outside the worker process)."""
        with self._env_lock:
            if self.host_env is None:
                self.take_host_env()
            env = dict(os.environ)
            for name in _HOST_VARIABLES:
                env.pop(name, None)
            env.update(self.host_env or {})
        return env

    def configure(
        self,
        *,
        max_message_bytes: Optional[int] = None,
        worker_id: Optional[str] = None,
        host: Optional[Tuple[str, str]] = None,
    ) -> None:
        """Settings from the worker's start, for the client created on first use
        (SNAKEPIT_WORKER_ID wins over ``worker_id``): ``host`` is the host's address and
        secret, as the secrets pipe gave them. Without it they come from the environment
        (``take_host_env``: a client used outside a worker the host started)."""
        if host is not None:
            with self._env_lock:
                self.host_env = {ENV_ADDRESS: host[0], ENV_SECRET: host[1]}
        else:
            self.take_host_env()
        if max_message_bytes is not None:
            self.settings["max_message_bytes"] = max_message_bytes
        if worker_id is not None:
            self.settings["worker_id"] = worker_id

    def client(self) -> HostClient:
        """This process's client, created on first use (again after a fork)."""
        client = self._client
        if client is not None and self._client_pid == os.getpid():
            return client
        with self._client_lock:
            if self._client is None or self._client_pid != os.getpid():
                self._client = HostClient.from_env(self.process_env(), **self.settings)
                self._client_pid = os.getpid()
            return self._client

    def reset(self) -> None:
        """Close and forget the process's client; the next one is built from the host
        variables taken last (``take_host_env``) and the rest of ``os.environ``."""
        with self._client_lock:
            client, self._client = self._client, None
        if client is not None and self._client_pid == os.getpid():
            client.close()


_process = _ProcessHost()
take_host_env = _process.take_host_env
configure = _process.configure
get_client = _process.client
reset_client = _process.reset
