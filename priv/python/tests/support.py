"""Test helpers: stub generation, and a real worker subprocess."""
import json
import secrets
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional

from tests import PRIV_PYTHON

REPO_ROOT = os.path.dirname(os.path.dirname(PRIV_PYTHON))
PROTO = os.path.join(REPO_ROOT, "proto", "snakepit_bridge.proto")
GENERATED = os.path.join(PRIV_PYTHON, "snakepit_bridge", "generated", "snakepit_bridge_pb2.py")
GEN_SCRIPT = os.path.join(REPO_ROOT, "scripts", "gen-python-stubs.sh")
SHOWCASE = "snakepit_showcase.adapter:ShowcaseAdapter"


def ensure_stubs() -> None:
    """Generate the protobuf stubs when missing or older than the .proto."""
    if os.path.exists(GENERATED) and os.path.getmtime(GENERATED) >= os.path.getmtime(PROTO):
        return
    proc = subprocess.run(
        ["bash", GEN_SCRIPT, sys.executable], capture_output=True, text=True, timeout=60
    )
    if proc.returncode != 0:
        raise RuntimeError(
            "could not generate the protobuf stubs; run scripts/gen-python-stubs.sh "
            f"{sys.executable} by hand:\n{proc.stdout}{proc.stderr}"
        )


def worker_env() -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (PRIV_PYTHON, env.get("PYTHONPATH", "")) if p
    )
    env["PYTHONUNBUFFERED"] = "1"
    return env


def read_line(fd: int, timeout: float) -> str:
    """Read up to the first newline (or EOF) from fd, within timeout seconds."""
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no line within {timeout}s (got {buf!r})")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            buf += chunk
    return buf.decode("utf-8")


def process_gone(pid: int) -> bool:
    """True when pid no longer exists or is a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):
        return True
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False


class WorkerProcess:
    """``python -m snakepit_bridge.server`` as a child, with the ready line parsed."""

    def __init__(self, adapter: str = SHOWCASE, extra: Optional[List[str]] = None,
                 stdin: Any = subprocess.PIPE, env: Optional[Dict[str, str]] = None,
                 host: Optional[Any] = None, authenticated: bool = True) -> None:
        """As the host starts a worker: its secret (and ``host``'s address and secret, when
        given) over a pipe, unless ``authenticated`` is false (a worker started by hand)."""
        read_fd, write_fd = os.pipe()
        self.stderr = tempfile.TemporaryFile()
        self.worker_secret = secrets.token_hex(32) if authenticated else None
        pass_fds = [write_fd]
        args = [*(extra or [])]
        if self.worker_secret is not None:
            secrets_read, secrets_write = os.pipe()
            os.write(secrets_write, json.dumps({
                "hostAddress": host.address if host else "", "hostSecret": host.secret if host else "",
                "workerSecret": self.worker_secret,
            }).encode())
            os.close(secrets_write)
            pass_fds.append(secrets_read)
            args += ["--secrets-fd", str(secrets_read)]
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "snakepit_bridge.server", "--adapter", adapter,
                 "--ready-fd", str(write_fd), "--run-id", "unittest", "--worker-id", "t1", *args],
                pass_fds=tuple(pass_fds), stdin=stdin, stdout=subprocess.DEVNULL,
                stderr=self.stderr, env={**worker_env(), **(env or {})}, cwd=PRIV_PYTHON,
            )
        finally:
            for fd in pass_fds:
                os.close(fd)
        try:
            line = read_line(read_fd, timeout=15)
        finally:
            os.close(read_fd)
        self.event: Dict[str, Any] = json.loads(line) if line.strip() else {}
        self._channel = None

    @property
    def address(self) -> str:
        return self.event["address"]

    def stderr_text(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")

    def channel(self) -> Any:
        import grpc

        if self._channel is None:
            self._channel = grpc.insecure_channel(self.address)
            grpc.channel_ready_future(self._channel).result(timeout=10)
        return self._channel

    @property
    def metadata(self) -> tuple:
        """What the host sends with every call: the worker's secret."""
        return (("x-snakepit-worker-secret", self.worker_secret),) if self.worker_secret else ()

    def stub(self, method: str, secret: Optional[str] = None) -> Any:
        """A unary-unary callable for Ping, Describe, Execute or Cancel, sending the worker's
        secret (or ``secret`` instead)."""
        from snakepit_bridge._messages import pb2

        request, reply = {
            "Ping": (pb2.PingRequest, pb2.PingReply),
            "Describe": (pb2.DescribeRequest, pb2.DescribeReply),
            "Execute": (pb2.ExecuteRequest, pb2.ExecuteReply),
            "Cancel": (pb2.CancelRequest, pb2.CancelReply),
        }[method]
        call = self.channel().unary_unary(
            f"/snakepit.bridge.Worker/{method}",
            request_serializer=request.SerializeToString,
            response_deserializer=reply.FromString,
        )
        metadata = (("x-snakepit-worker-secret", secret),) if secret is not None else self.metadata
        return WithMetadata(call, metadata)

    def open_channel(self, secret: Optional[str] = None) -> "HostChannel":
        """The host's channel (Worker.Channel): frames go in with send(), come out with next()."""
        from snakepit_bridge._messages import pb2

        call = self.channel().stream_stream(
            "/snakepit.bridge.Worker/Channel",
            request_serializer=pb2.HostFrames.SerializeToString,
            response_deserializer=pb2.WorkerFrames.FromString,
        )
        metadata = (("x-snakepit-worker-secret", secret),) if secret is not None else self.metadata
        return HostChannel(call, metadata)

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        if self.proc.stdin:
            self.proc.stdin.close()
        self.stderr.close()


class WithMetadata:
    """A gRPC callable that always sends ``metadata``."""

    def __init__(self, call: Any, metadata: tuple) -> None:
        self._call, self._metadata = call, metadata

    def __call__(self, request: Any, **kwargs: Any) -> Any:
        return self._call(request, metadata=self._metadata, **kwargs)

    def future(self, request: Any, **kwargs: Any) -> Any:
        return self._call.future(request, metadata=self._metadata, **kwargs)


class HostEnv:
    """Point this process's host client at ``address`` via the SNAKEPIT_* variables
    (``None`` values unset them); the host address and secret are taken out of
    os.environ as the worker does at start-up, and the client is rebuilt on entry and
    on exit (which restores the host variables taken before)."""

    def __init__(self, address=None, secret=None, **extra: Optional[str]) -> None:
        self.host = {"SNAKEPIT_HOST_ADDRESS": address, "SNAKEPIT_HOST_SECRET": secret}
        self.values = {"SNAKEPIT_WORKER_ID": "w-test", **extra}
        self.saved: Dict[str, Optional[str]] = {}
        self.saved_host: Optional[Dict[str, str]] = None

    def __enter__(self) -> "HostEnv":
        from snakepit_bridge import _host_client as host_client

        self.saved_host = host_client._process.host_env
        for name, value in self.values.items():
            self.saved[name] = os.environ.get(name)
            _set_env(name, value)
        host_client.take_host_env({k: v for k, v in self.host.items() if v is not None})
        host_client.reset_client()
        return self

    def __exit__(self, *exc: Any) -> None:
        from snakepit_bridge import _host_client as host_client

        for name, value in self.saved.items():
            _set_env(name, value)
        host_client._process.host_env = self.saved_host
        host_client.reset_client()


def _set_env(name: str, value: Optional[str]) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


class HostChannel:
    """A test's end of a worker's channel: what it sends, and the worker's frames one by one."""

    _END = object()

    def __init__(self, call: Any, metadata: tuple) -> None:
        import queue

        self._requests: "queue.SimpleQueue[Any]" = queue.SimpleQueue()
        self._replies = call(iter(self._requests.get, self._END), metadata=metadata)
        self._frames: List[Any] = []

    def send(self, *frames: Any) -> None:
        """One HostFrames message carrying ``frames``."""
        from snakepit_bridge._messages import pb2

        self._requests.put(pb2.HostFrames(frames=list(frames)))

    def next_frame(self) -> Any:
        """The worker's next frame (messages may carry several)."""
        while not self._frames:
            self._frames.extend(next(self._replies).frames)
        return self._frames.pop(0)

    def next_message(self) -> Any:
        """The worker's next WorkerFrames message, whole (once no frame is left over)."""
        assert not self._frames, "frames of an earlier message are unread"
        return next(self._replies)

    def end(self) -> None:
        """The host ends its side: the worker finishes what runs, then ends its own."""
        self._requests.put(self._END)

    def rest(self) -> List[Any]:
        """Every frame until the worker ends the channel."""
        frames, self._frames = self._frames, []
        for message in self._replies:
            frames.extend(message.frames)
        return frames

    def cancel(self) -> None:
        self._replies.cancel()


def binary_reply_size(n: int) -> int:
    """The size of an ExecuteReply whose result is n bytes inside the message: its Value holds
    the bytes tag as JSON, one inline Buffer and the tag count."""
    from snakepit_bridge._messages import pb2

    text = b'{"$snakepit":"bytes","buffer":0}'
    value = pb2.Value(json=text, buffers=[pb2.Buffer(inline=bytes(n))], tags=1)
    return pb2.ExecuteReply(result=value).ByteSize()


def largest_binary_result(limit: int) -> int:
    """The largest n whose binary reply takes at most ``limit`` bytes."""
    return next(n for n in range(limit, 0, -1) if binary_reply_size(n) <= limit)


def value_of(value: Any) -> Any:
    """The Python value of a Value message, as the bridge decodes it."""
    from snakepit_bridge._codec import decode_value

    return decode_value(value)


def standalone_json(value: Any, what: str) -> bytes:
    from snakepit_bridge._codec import standalone_json as standalone

    return standalone(value, what)


def wire_value(value: Any) -> Any:
    """A Value message for ``value``, as the bridge encodes it (buffers inside the message)."""
    from snakepit_bridge._codec import value_message

    return value_message(value, "value")
