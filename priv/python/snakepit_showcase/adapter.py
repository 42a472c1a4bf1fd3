"""ShowcaseAdapter: ``--adapter snakepit_showcase.adapter:ShowcaseAdapter``."""
import asyncio
import builtins
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any, AsyncIterator, Dict, Iterator, List, Optional, Set

from snakepit_bridge import BaseAdapter, HostError, tool

from .data_tools import DataTools

MIB = 1024 * 1024
PAGE = 4096

FINALIZED: Set[str] = set()
_BARRIERS: Dict[int, threading.Barrier] = {}
_BARRIERS_LOCK = threading.Lock()
"""Tokens of the streaming calls whose `finally` ran (see the `finalized` tool)."""


class ShowcaseError(Exception):
    """Raised by raise_error for a type name that is not a builtin exception."""


class ShowcaseAdapter(DataTools, BaseAdapter):
    """Demo and test tools."""

    thread_safe = True  # its tools share no unguarded state, so the thread profile may run them at once

    def __init__(self) -> None:
        self._held: List[bytearray] = []

    def on_start(self) -> None:
        """Test hooks, off unless set: SHOWCASE_START_DELAY_MS makes start-up slow, and
        SHOWCASE_FAIL_WORKERS (comma-separated worker ids) makes those workers fail to start."""
        failing = os.environ.get("SHOWCASE_FAIL_WORKERS", "")
        if os.environ.get("SNAKEPIT_WORKER_ID") in failing.split(","):
            raise RuntimeError(f"worker {os.environ['SNAKEPIT_WORKER_ID']} was told to fail (SHOWCASE_FAIL_WORKERS)")
        time.sleep(int(os.environ.get("SHOWCASE_START_DELAY_MS", "0")) / 1000)

    @tool
    def ping(self) -> Dict[str, Any]:
        """Answer with pong and this worker's pid."""
        return {"pong": True, "pid": os.getpid()}

    @tool
    def echo(self, params: Dict[str, Any]) -> Dict[str, Any]:
        """Return the arguments unchanged."""
        return params

    @tool
    def add(self, a: Any, b: Any) -> Any:
        """Return a + b."""
        return a + b

    @tool
    def sleep(self, ms: float) -> Dict[str, Any]:
        """Sleep for ms milliseconds."""
        time.sleep(ms / 1000)
        return {"slept_ms": ms, "pid": os.getpid()}

    @tool
    def raise_error(self, type: str = "ValueError", message: str = "boom") -> None:
        """Raise the builtin exception named by type (ShowcaseError if there is none)."""
        cls = getattr(builtins, type, None)
        if isinstance(cls, builtins.type) and issubclass(cls, Exception):
            try:
                exc = cls(message)
            except Exception:  # e.g. UnicodeDecodeError needs five arguments
                exc = ShowcaseError(f"{type}: {message}")
            raise exc
        raise ShowcaseError(message)

    @tool
    def crash(self, mode: str = "exit", code: int = 1) -> None:
        """Kill this worker: mode "exit" (os._exit(code)), "segfault", "abort" or "kill" (SIGKILL)."""
        _die(mode, code)

    @tool
    def break_channel(self) -> None:
        """Shut down the worker's connections to the host on its listening socket (the process
        stays alive): what a broken transport looks like to the host."""
        import socket
        import stat

        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            try:
                if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                    continue
                conn = socket.socket(fileno=os.dup(fd))
            except OSError:
                continue
            try:
                if conn.family == socket.AF_UNIX and conn.getpeername() is not None and conn.getsockname():
                    conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # a listening socket, or not connected
            finally:
                conn.close()

    @tool
    def crash_once(self, marker: str, mode: str = "exit") -> Dict[str, Any]:
        """Crash (see crash) unless the file marker exists, which it creates: a call that crashes
        its first worker and succeeds when retried."""
        if not os.path.exists(marker):
            open(marker, "w").close()
            _die(mode, 1)
        return {"survived": True, "pid": os.getpid()}

    @tool(supports_streaming=True)
    def crash_once_stream(self, marker: str, n: int = 3) -> Iterator[Dict[str, int]]:
        """Like crash_once, as a stream that crashes before its first chunk."""
        if not os.path.exists(marker):
            open(marker, "w").close()
            _die("exit", 1)
        for i in range(n):
            yield {"i": i}

    @tool
    def emit_event(self, name: str, measurements: Optional[Dict[str, Any]] = None,
                   metadata: Optional[Dict[str, Any]] = None) -> bool:
        """Emit a telemetry event (the host re-emits it as snakepit.python.<name>)."""
        self.emit(name, measurements, metadata)
        return True

    @tool
    def trace_info(self, host_tool: str = "") -> Dict[str, Any]:
        """The trace context this call came with; with host_tool, also call that host tool."""
        context = self.session_context
        result = context.call_host_tool(host_tool) if host_tool else None
        return {"traceparent": context.traceparent, "trace_id": context.trace_id, "host_result": result}

    @tool(supports_streaming=True)
    def trace_info_stream(self) -> Iterator[Dict[str, Any]]:
        """One chunk: the trace context this stream came with."""
        yield {"traceparent": self.session_context.traceparent}

    @tool
    def rendezvous(self, parties: int, timeout_s: float = 10) -> bool:
        """Wait until `parties` calls are here at the same time (thread profile): True when they
        met, False when they never were all here within timeout_s."""
        with _BARRIERS_LOCK:
            barrier = _BARRIERS.get(parties)
            if barrier is None or barrier.broken:
                barrier = _BARRIERS[parties] = threading.Barrier(parties)
        try:
            barrier.wait(timeout_s)
            return True
        except threading.BrokenBarrierError:
            return False

    @tool
    def overlap(self, ms: float) -> Dict[str, Any]:
        """Sleep ms milliseconds; report when (time.monotonic) and in which process it ran."""
        start = time.monotonic()
        time.sleep(ms / 1000)
        return {"start": start, "end": time.monotonic(), "pid": os.getpid()}

    @tool
    def say(self, text: str, stream: str = "stdout") -> None:
        """Print text on stdout or stderr."""
        print(text, file=sys.stderr if stream == "stderr" else sys.stdout, flush=True)

    @tool
    def echo_after(self, value: Any, ms: float = 0) -> Any:
        """Return value after ms milliseconds."""
        time.sleep(ms / 1000)
        return value

    @tool
    def hold_gil(self, seconds: int = 3600) -> None:
        """Sleep in C while holding the GIL: the worker cannot answer anything, heartbeats included."""
        ctypes.PyDLL(None).sleep(int(seconds))  # PyDLL calls keep the GIL

    @tool
    def allocate(self, mb: int) -> Dict[str, Any]:
        """Allocate and hold mb MiB (resident); return the total held."""
        buf = bytearray(mb * MIB)
        buf[::PAGE] = b"\x01" * len(range(0, len(buf), PAGE))  # touch every page
        self._held.append(buf)
        return {"allocated_mb": sum(len(b) for b in self._held) // MIB}

    @tool
    def random_bytes(self, n: int) -> bytes:
        """Return n random bytes (a binary result)."""
        return os.urandom(n)

    @tool
    def bytes_of(self, n: int, fill: int = 0) -> bytes:
        """Return n bytes all equal to fill."""
        return bytes([fill]) * n

    @tool
    def spawn_sleeper(self, seconds: float = 600, ignore_sigterm: bool = True,
                      new_session: bool = False) -> int:
        """Start a child process that sleeps (and ignores SIGTERM), in a session of its own
        with new_session (out of the worker's process group); return its pid."""
        code = "import signal, time\n"
        if ignore_sigterm:
            code += "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        code += f"time.sleep({float(seconds)})\n"
        child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.DEVNULL,
                                 start_new_session=new_session)
        time.sleep(0.1)  # let it install its signal handler
        return child.pid

    @tool
    def wait_until_cancelled(self, max_ms: float = 30_000, token: str = "") -> Dict[str, Any]:
        """Poll session_context.cancelled until the host cancels the call (or max_ms pass)."""
        deadline = time.monotonic() + max_ms / 1000
        while time.monotonic() < deadline:
            if self.session_context.cancelled:
                if token:
                    FINALIZED.add(token)
                return {"cancelled": True}
            time.sleep(0.01)
        return {"cancelled": False}

    @tool
    def pid(self) -> int:
        """Return this worker's pid."""
        return os.getpid()

    @tool
    def unserializable(self) -> Any:
        """Return a value that cannot be encoded (to see ResultNotSerializableError)."""
        return object()

    @tool
    async def async_add(self, a: Any, b: Any) -> Any:
        """Return a + b from a coroutine."""
        await asyncio.sleep(0)
        return a + b

    # -- sessions and host tools ------------------------------------------------------

    @tool
    def session_info(self) -> Dict[str, Any]:
        """This call's session id, whether it is ephemeral, and this worker's pid."""
        ctx = self.session_context
        return {"session_id": ctx.session_id, "ephemeral": ctx.ephemeral, "pid": os.getpid()}

    @tool
    def counter(self, step: int = 1) -> Dict[str, Any]:
        """Add step to the session's "counter" (starting at 0); return the new value."""
        ctx = self.session_context
        value = ctx.get_state("counter", 0) + step
        ctx.set_state("counter", value)
        return {"counter": value, "pid": os.getpid()}

    @tool
    def get_state(self, key: str) -> Any:
        """The session state value under key, or null."""
        return self.session_context.get_state(key)

    @tool
    def state_after_host_call(self, name: str, key: str) -> Any:
        """Call the host tool name, then read key from the session state (an error propagates)."""
        self.session_context.call_host_tool(name)
        return self.session_context.get_state(key)

    @tool
    def set_state(self, key: str, value: Any) -> Dict[str, Any]:
        """Store value under key in the session state."""
        self.session_context.set_state(key, value)
        return {"ok": True}

    @tool
    def set_state_error(self, key: str, value: Any) -> Dict[str, Any]:
        """Store value under key, expecting the host to refuse it; describe the refusal."""
        try:
            self.session_context.set_state(key, value)
        except HostError as exc:
            return {"type": type(exc).__name__, "code": exc.code, "message": str(exc)}
        return {"type": None, "code": None, "message": None}

    @tool
    def host_secret_visible(self, secret: str = "") -> Dict[str, bool]:
        """Whether a secret of the host shows in this worker's environment: os.environ, the
        process's initial environment (/proc/self/environ, which other processes of the user
        can read), or a subprocess's. ``secret``, when given, is searched for by value too."""
        names = ("SNAKEPIT_HOST_SECRET", "SNAKEPIT_WORKER_SECRET")

        def shows(text: str) -> bool:
            return any(name in text for name in names) or bool(secret and secret in text)

        try:
            with open("/proc/self/environ", "rb") as handle:
                initial = handle.read().decode("utf-8", "replace")
        except OSError:
            initial = ""
        probe = "import os, sys; sys.stdout.write(chr(0).join(f'{k}={v}' for k, v in os.environ.items()))"
        child = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=30)
        return {
            "in_environ": shows("\0".join(f"{k}={v}" for k, v in os.environ.items())),
            "in_initial_environ": shows(initial),
            "in_subprocess": shows(child.stdout),
        }

    @tool
    def call_host(self, name: str, args: Optional[Dict[str, Any]] = None) -> Any:
        """Call the host tool name with args; return its result."""
        return self.session_context.call_host_tool(name, **(args or {}))

    @tool
    def add_via_host(self, a: Any, b: Any) -> Dict[str, Any]:
        """Add a and b with the host tool "add"."""
        return {"sum": self.session_context.call_host_tool("add", a=a, b=b), "via": "host"}

    @tool
    def host_tool_names(self) -> List[str]:
        """The names of the host's tools, sorted."""
        return sorted(t["name"] for t in self.session_context.host_tools)

    @tool
    def call_host_error(self, name: str, args: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """Call a host tool expected to fail; describe the exception it raised
        (type is null and result is set when it did not fail)."""
        try:
            result = self.session_context.call_host_tool(name, **(args or {}))
        except HostError as exc:
            return {"type": type(exc).__name__, "code": exc.code, "message": str(exc),
                    "is_value_error": isinstance(exc, ValueError)}
        return {"type": None, "code": None, "message": None, "is_value_error": False,
                "result": result}

    # -- streaming ----------------------------------------------------------------------

    @tool(supports_streaming=True)
    def count(self, n: int, delay_ms: float = 0, token: str = "") -> Iterator[Dict[str, int]]:
        """Yield {"i": i} for i in range(n), delay_ms apart; return {"total": n}."""
        try:
            for i in range(n):
                if delay_ms and i:
                    time.sleep(delay_ms / 1000)
                yield {"i": i}
            return {"total": n}
        finally:
            if token:
                FINALIZED.add(token)

    @tool(supports_streaming=True)
    async def count_async(self, n: int, delay_ms: float = 0,
                          token: str = "") -> AsyncIterator[Dict[str, int]]:
        """count from an async generator (no return value: the final chunk has no data)."""
        try:
            for i in range(n):
                if delay_ms and i:
                    await asyncio.sleep(delay_ms / 1000)
                yield {"i": i}
        finally:
            if token:
                FINALIZED.add(token)

    @tool(supports_streaming=True)
    def count_stream(self, n: int, delay_ms: float = 0, token: str = "",
                     stream: Any = None) -> Dict[str, int]:
        """count with stream.send(...); return {"total": n}."""
        try:
            for i in range(n):
                if delay_ms and i:
                    time.sleep(delay_ms / 1000)
                stream.send({"i": i})
            return {"total": n}
        finally:
            if token:
                FINALIZED.add(token)

    @tool(supports_streaming=True)
    def stream_then_fail(self, n: int, type: str = "ValueError") -> Iterator[Dict[str, int]]:
        """Yield n items, then raise the builtin exception named by type."""
        for i in range(n):
            yield {"i": i}
        cls = getattr(builtins, type, None)
        if isinstance(cls, builtins.type) and issubclass(cls, Exception):
            raise cls(f"failed after {n} chunks")
        raise ShowcaseError(f"{type}: failed after {n} chunks")

    @tool(supports_streaming=True)
    def stream_then_crash(self, n: int) -> Iterator[Dict[str, int]]:
        """Yield n items, then kill this worker (os._exit(3))."""
        for i in range(n):
            yield {"i": i}
        time.sleep(0.05)  # let the chunks leave
        os._exit(3)

    @tool(supports_streaming=True)
    def progress(self, steps: int = 5, delay_ms: float = 100) -> Iterator[Dict[str, Any]]:
        """Yield {"step", "of", "percent"} steps times, delay_ms apart (the SSE demo)."""
        for i in range(1, steps + 1):
            time.sleep(delay_ms / 1000)
            yield {"step": i, "of": steps, "percent": round(100 * i / steps, 1)}

    @tool(supports_streaming=True)
    def blob_stream(self, count: int, size: int) -> Iterator[bytes]:
        """Yield count binary chunks of size bytes each."""
        blob = os.urandom(size)
        for _ in range(count):
            yield blob

    @tool
    def finalized(self, token: str) -> bool:
        """Whether the streaming call given token ran its `finally`."""
        return token in FINALIZED


def _die(mode: str, code: int) -> None:
    if mode == "exit":
        os._exit(code)
    if mode == "segfault":
        ctypes.string_at(0)
    if mode == "abort":
        os.abort()
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    raise ValueError(f"unknown crash mode {mode!r}; use exit, segfault, abort or kill")


class PlainAdapter(BaseAdapter):
    """An adapter that does not declare itself thread-safe (the thread profile refuses it)."""

    @tool
    def ping(self) -> str:
        return "pong"
