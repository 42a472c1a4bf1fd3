"""SessionContext: the session of a tool call, its state, and the host's tools.

Every Execute call runs with one, reachable as ``self.session_context`` in the adapter.
Creating it costs nothing: the host is contacted only when state or host tools are used.
"""
from contextvars import ContextVar
from typing import Any, Dict, List, Optional

current_session: "ContextVar[Optional[SessionContext]]" = ContextVar(
    "snakepit_session", default=None
)
"""The SessionContext of the tool call running in this thread or task (set by the Worker)."""


class SessionContext:
    """The session a tool call belongs to.

    With a host session (``ExecuteRequest.session_id``) state lives on the host, shared by
    every worker serving that session. Without one the context is *ephemeral*: its
    ``session_id`` is ``"ephemeral-<request_id>"`` and its state lives in this object only,
    for this call. Host tools work in both (an ephemeral call sends no session id).

    Host state reads are cached in this object only, i.e. within one tool call (each
    call gets a new context), for at most SNAKEPIT_STATE_CACHE_TTL_MS (default 1000 ms;
    0 disables): the next call always reads from the host.
    """

    __slots__ = ("session_id", "ephemeral", "traceparent", "tracestate", "_local", "_cache", "_cancel", "outputs")

    def __init__(self, session_id: str, ephemeral: bool = False) -> None:
        self.session_id = session_id
        self.ephemeral = ephemeral
        # The host's trace context for this call (W3C headers), when it sent one.
        self.traceparent: Optional[str] = None
        self.tracestate: Optional[str] = None
        self._local: Optional[Dict[str, bytes]] = None  # ephemeral state: key -> JSON
        self._cache: Any = None  # host state read cache (a TtlCache), made on first use
        self._cancel: Any = None  # the call's cancel Event (or CancelFlag), set by the Worker
        # Segments output_array made in this call (those not returned go when it ends).
        self.outputs: Optional[List[Any]] = None

    @classmethod
    def for_request(cls, request: Any) -> "SessionContext":
        """The context for an ExecuteRequest: its session, or an ephemeral one."""
        session_id = request.session_id
        if session_id:
            return cls(session_id)
        return cls(f"ephemeral-{request.request_id}", True)

    def __repr__(self) -> str:
        kind = " ephemeral" if self.ephemeral else ""
        return f"<SessionContext{kind} {self.session_id!r}>"

    @property
    def trace_id(self) -> Optional[str]:
        """The trace this call belongs to (32 hex digits), or None when the host sent none."""
        from ._tracing import trace_id

        return trace_id(self.traceparent)

    @property
    def cancelled(self) -> bool:
        """True once the host asked to cancel this call (Cancel), or its caller went away
        (streams). Long-running tools may poll it and stop early."""
        event = self._cancel
        return event is not None and event.is_set()

    # -- large results ----------------------------------------------------------------

    def output_array(self, shape: Any, dtype: str = "float32") -> Any:
        """A numpy array of ``shape`` and ``dtype`` in shared memory, for the tool to fill and
        return: the host then reads the result where it was written, without a copy in Python.
        Without shared memory (the pool's sharedMemory.enabled is false) it is a plain array."""
        import numpy as np

        from ._segments import shared_memory

        dtype = np.dtype(dtype)
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        shm = shared_memory()
        if shm is None:
            return np.empty(shape, dtype)
        size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        segment = shm.create_output(size)
        if self.outputs is None:
            self.outputs = []
        self.outputs.append(segment)
        return np.frombuffer(segment.mapping, dtype, count=size // dtype.itemsize if dtype.itemsize else 0).reshape(shape)

    def release_outputs(self) -> None:
        """The call is over: output segments its replies did not name are removed."""
        outputs, self.outputs = self.outputs, None
        if outputs:
            from ._segments import shared_memory

            shm = shared_memory()
            for segment in outputs:
                if not segment.sent:
                    shm.remove(segment.name)

    # -- state ----------------------------------------------------------------------

    def get_state(self, key: str, default: Any = None) -> Any:
        """The value stored under ``key``, or ``default`` when there is none.

        A new tool call always reads the host's current value. Within one call, reads
        are cached in this context for SNAKEPIT_STATE_CACHE_TTL_MS (default 1000 ms), so
        a write by the host or another worker during the call may not be seen by it;
        this call's own writes and deletes are.
        """
        _check_key(key)
        if self.ephemeral:
            raw = self._local.get(key) if self._local else None
            if raw is None:
                return default
            from ._values import decode

            return decode(raw, 1)
        client = _client()
        return client.get_state(self.session_id, key, default, self._state_cache(client))

    def set_state(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key``: any value a tool may return (TypeError if it cannot
        travel)."""
        _check_key(key)
        if self.ephemeral:
            from ._codec import standalone_json  # codec needs the protobuf stubs: import on use

            payload = standalone_json(value, f"session state {key!r}")
            if self._local is None:
                self._local = {}
            self._local[key] = payload
            return
        client = _client()
        client.set_state(self.session_id, key, value, self._state_cache(client))

    def delete_state(self, key: str) -> None:
        """Remove ``key`` (nothing happens when it is not set)."""
        _check_key(key)
        if self.ephemeral:
            if self._local:
                self._local.pop(key, None)
            return
        client = _client()
        client.delete_state(self.session_id, key, self._state_cache(client))

    def _state_cache(self, client: Any) -> Any:
        cache = self._cache
        if cache is None:
            from ._ttl_cache import TtlCache

            cache = self._cache = TtlCache(client.cache_ttl)
        return cache

    # -- host tools -----------------------------------------------------------------

    def call_host_tool(self, name: str, /, **kwargs: Any) -> Any:
        """Run the host tool ``name`` with JSON-serialisable keyword arguments.

        Returns its result (a JSON value, or bytes). Raises HostToolValidationError,
        HostToolNotFoundError or HostToolError when the tool fails, SessionNotFoundError
        when the host no longer knows the session, HostUnavailableError when the host
        cannot be reached.
        """
        from ._tracing import outgoing

        session_id = "" if self.ephemeral else self.session_id
        return _client().call_tool(name, kwargs, session_id, outgoing(self.traceparent, self.tracestate))

    call_elixir_tool = call_host_tool  # the name used by the Elixir Snakepit

    @property
    def host_tools(self) -> List[Dict[str, Any]]:
        """The host's tools: ``[{"name", "description", "parameters"}]`` (cached briefly)."""
        return _client().list_tools()


class CancelFlag:
    """A plain Execute call's cancel flag: the part of threading.Event that a call needs,
    at a fraction of its cost (streams use a real threading.Event)."""

    __slots__ = ("_set",)

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        self._set = True

    def is_set(self) -> bool:
        return self._set


def get_current_session() -> SessionContext:
    """The SessionContext of the running tool call; RuntimeError outside one."""
    session = current_session.get()
    if session is None:
        raise RuntimeError(
            "session_context is only available while the worker runs a tool call "
            "(in the tool's own thread or task; a thread the tool starts must be given "
            "the context, e.g. via contextvars.copy_context().run or asyncio.to_thread)"
        )
    return session


def _check_key(key: Any) -> None:
    if not isinstance(key, str) or not key:
        raise ValueError(f"session state keys must be non-empty strings, got {key!r}")


def _client() -> Any:
    from ._host_client import get_client

    return get_client()
