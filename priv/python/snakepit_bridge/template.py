"""A pool's template process: ``python -m snakepit_bridge.template --adapter module:Class ...``.

It imports the bridge, grpc and the adapter's module once, runs the adapter's ``preload`` hook,
and then forks a worker each time the host asks. Each worker starts its own gRPC server after
the fork: the template never creates a channel or a server, so gRPC's core is never initialised
in it (``import grpc`` alone starts no thread and no core), and it runs no thread of its own.

The control channel is ``--control-fd``, a socket the host made, carrying JSON lines.

- host → template: ``{"op": "fork", "id", "token", "attach", "args"}``: fork a worker with the
  server arguments ``args``; it reaches the host through the Unix socket ``attach``.
- template → host: ``{"event": "ready", "pid"}`` once loaded (or ``{"event": "failed", "type",
  "message", "traceback"}`` and exit code 2); ``{"event": "forked", "id", "pid"}`` or
  ``{"event": "fork_failed", "id", "message"}`` for each request; ``{"event": "exited", "pid",
  "code", "signal"}`` when a worker it forked has exited (the template is its parent and reaps it).

A forked worker starts a session of its own (it leads its process group, as a spawned worker
does), connects to ``attach`` three times, each connection opening with ``{"token", "stream"}``:
``control`` becomes its stdin, ``stdout`` and ``stderr`` its fds 1 and 2. On ``control`` it reads
its secrets (one JSON line, never in its environment or arguments), writes its handshake, and
then watches it: EOF means the host is gone. It watches the host's pid too, not its parent's: a
worker outlives its template, so the host can restart a template without losing its workers.

The template exits when the host goes (EOF on stdin or on the control channel, or a new parent)
and on SIGTERM; the workers it forked are left running.
"""
import argparse
import atexit
import errno
import faulthandler
import json
import logging
import os
import select
import signal
import socket
import sys
import threading
import time
import traceback
from typing import Any, Dict, List, Optional

from . import __version__

EXIT_FAILED = 2
#: A forked worker that fails before it can tell the host why.
EXIT_CHILD_FAILED = 70
POLL_SECONDS = 1.0
MAX_LINE_BYTES = 1 << 20
ATTACH_TIMEOUT_SECONDS = 10.0

log = logging.getLogger("snakepit_bridge.template")


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m snakepit_bridge.template", description="Snakepit worker template"
    )
    p.add_argument("--adapter", required=True, help="module:Class (or module.Class)")
    p.add_argument("--run-id", default="", help="host run id (identifies its processes)")
    p.add_argument("--pool", default="", help="the pool this template forks workers for, for logs")
    p.add_argument("--control-fd", type=int, required=True, help="the host's control socket")
    p.add_argument("--bridge-version", default=None, help="the snakepit_bridge version the host expects")
    return p.parse_known_args(argv)[0]


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from .server import _setup_logging

    _setup_logging("", f" template={args.pool}" if args.pool else " template")
    channel = Channel(args.control_fd)
    try:
        _prepare(args)
    except BaseException as exc:  # import errors, SystemExit in the adapter...
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        sys.stderr.write(tb)
        log.error("template failed to start: %s: %s", type(exc).__name__, exc)
        channel.send({"event": "failed", "type": type(exc).__name__, "message": str(exc), "traceback": tb})
        return EXIT_FAILED
    return Template(channel, os.getppid()).run()


class TemplateThreadsError(RuntimeError):
    """The template has Python threads of its own after loading the adapter: it must not fork."""


def _prepare(args: argparse.Namespace) -> None:
    """Everything every worker would import: the bridge, grpc, the stubs, the adapter's module,
    and the adapter's preload hook."""
    started = time.monotonic()
    if args.bridge_version is not None and args.bridge_version != __version__:
        from .server import BridgeVersionMismatch

        raise BridgeVersionMismatch(args.bridge_version)
    import concurrent.futures  # noqa: F401

    import grpc  # noqa: F401  (no core, no thread until a channel or server exists)

    from . import _auth, _dispatch, _host_client, _invoke, _messages, server  # noqa: F401
    from ._loader import load_adapter_class, preload_once

    cls = load_adapter_class(args.adapter)
    preload_once(cls)
    threads = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    if threads:
        # A fork keeps only the forking thread: what the others held or did would be lost, or
        # deadlock the workers. Threads of native libraries (OpenBLAS) that handle forks are not
        # Python threads, and pass.
        raise TemplateThreadsError(
            f"the adapter's module or its preload() started Python threads ({', '.join(threads)}); "
            "workers cannot be forked safely from this process, so they are spawned. Start threads "
            "in on_start (once per worker) instead, or set workers.start: 'spawn'"
        )
    log.info(
        "template ready: adapter=%s pid=%d threads=%d in %.0f ms",
        args.adapter, os.getpid(), _thread_count(), (time.monotonic() - started) * 1000,
    )


class Channel:
    """JSON lines on one file descriptor, both ways (blocking writes, buffered reads)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buffer = b""

    def send(self, message: Dict[str, Any]) -> None:
        data = (json.dumps(message, separators=(",", ":")) + "\n").encode("utf-8")
        while data:
            data = data[os.write(self.fd, data):]

    def receive(self) -> Optional[List[Dict[str, Any]]]:
        """The complete lines readable now; None at EOF."""
        chunk = os.read(self.fd, 65536)
        if not chunk:
            return None
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        if len(self._buffer) > MAX_LINE_BYTES:
            raise ValueError("control line too long")
        return [json.loads(line) for line in lines if line.strip()]


class Template:
    """The fork loop: one thread, waiting on the control channel, stdin and SIGCHLD."""

    def __init__(self, channel: Channel, host_pid: int) -> None:
        self.channel = channel
        self.host_pid = host_pid
        self.stopping = False
        self.children: Dict[int, str] = {}

    def run(self) -> int:
        wake_read, wake_write = os.pipe()
        os.set_blocking(wake_read, False)
        os.set_blocking(wake_write, False)
        self._wake_fds = (wake_read, wake_write)
        signal.set_wakeup_fd(wake_write)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        self.channel.send({"event": "ready", "pid": os.getpid()})
        watched = [self.channel.fd, wake_read] + ([0] if _is_stream(0) else [])
        while not self.stopping:
            try:
                readable, _, _ = select.select(watched, [], [], POLL_SECONDS)
            except InterruptedError:
                readable = []
            if wake_read in readable:
                _drain(wake_read)
            self._reap()
            if 0 in readable and not _read_some(0):
                log.warning("stdin closed (host gone); exiting")
                return 0
            if self.channel.fd in readable:
                requests = self.channel.receive()
                if requests is None:
                    log.warning("control channel closed (host gone); exiting")
                    return 0
                for request in requests:
                    self._handle(request)
            if os.getppid() != self.host_pid:
                log.warning("host process %d exited; exiting", self.host_pid)
                return 0
        log.info("stopped (%d forked workers left running)", len(self.children))
        return 0

    def _on_stop(self, _signum: int, _frame: Any) -> None:
        self.stopping = True

    def _handle(self, request: Dict[str, Any]) -> None:
        if request.get("op") != "fork":
            log.warning("unknown request ignored: %r", request.get("op"))
            return
        worker_id = str(request.get("id", ""))
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError as exc:
            self.channel.send({"event": "fork_failed", "id": worker_id, "message": f"fork: {exc}"})
            return
        if pid == 0:
            _exit_child(self._become_worker, request)
        self.children[pid] = worker_id
        self.channel.send({"event": "forked", "id": worker_id, "pid": pid})

    def _become_worker(self, request: Dict[str, Any]) -> int:
        """In the forked child: let go of the template's parts, reach the host, and serve."""
        os.setsid()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for fd in (self.channel.fd, *self._wake_fds):
            os.close(fd)
        attach(str(request["attach"]), str(request["token"]))
        worker_id = str(request.get("id", ""))
        # What a tool starts carries the worker's marker (os.environ reaches subprocesses);
        # /proc/<pid>/environ of the worker itself stays the template's.
        os.environ["SNAKEPIT_WORKER_ID"] = worker_id
        reseed()
        from . import server
        from ._secrets import read_secrets_line

        args = server.parse_args([str(arg) for arg in request.get("args", [])])
        server._setup_stdio()
        server._setup_logging(args.worker_id)
        faulthandler.enable(all_threads=True)
        if hasattr(signal, "SIGUSR1"):
            faulthandler.register(signal.SIGUSR1, all_threads=True)
        sink = server.ReadySink(0)
        try:
            secrets = read_secrets_line(0)
        except (OSError, ValueError) as exc:
            server._report_failure(sink, exc)
            return server.EXIT_FAILED
        return server.serve(args, sink, secrets, host_pid=self.host_pid)

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.children.pop(pid, None)
            code: Optional[int] = None
            name: Optional[str] = None
            if os.WIFSIGNALED(status):
                number = os.WTERMSIG(status)
                try:
                    name = signal.Signals(number).name
                except ValueError:
                    name = f"SIG{number}"
            else:
                code = os.waitstatus_to_exitcode(status)
            self.channel.send({"event": "exited", "pid": pid, "code": code, "signal": name})


def attach(path: str, token: str) -> None:
    """Connects to the host's attach socket for stdin (the control connection), stdout and
    stderr, and puts the connections on fds 0, 1 and 2."""
    connections = []
    for stream in ("control", "stdout", "stderr"):
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.settimeout(ATTACH_TIMEOUT_SECONDS)
        conn.connect(path)
        conn.sendall((json.dumps({"token": token, "stream": stream, "pid": os.getpid()}) + "\n").encode())
        conn.settimeout(None)
        connections.append(conn)
    for fd, conn in enumerate(connections):
        os.dup2(conn.fileno(), fd)
        conn.close()


def reseed() -> None:
    """A forked worker must not draw the random numbers its siblings draw. Python's `random`
    reseeds itself after a fork; numpy's global generator does not."""
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        try:
            numpy_random.seed()
        except Exception:  # an odd numpy: not worth failing the worker for
            pass


def _exit_child(body: Any, request: Dict[str, Any]) -> None:
    """Runs the worker in the forked child and exits: never returns into the template's loop.
    Like a spawned worker's exit, it waits (up to 5 s) for threads that are not daemons."""
    code = EXIT_CHILD_FAILED
    try:
        code = body(request)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else EXIT_CHILD_FAILED
    except BaseException:
        try:
            traceback.print_exc()
        except BaseException:
            pass
    try:
        from .server import EXIT_WATCHDOG_SECONDS, _exit_later

        sys.stdout.flush()
        sys.stderr.flush()
        _exit_later(EXIT_WATCHDOG_SECONDS, code)
        for thread in threading.enumerate():
            if thread is not threading.current_thread() and not thread.daemon:
                thread.join()
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def _is_stream(fd: int) -> bool:
    import stat

    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _read_some(fd: int) -> bool:
    try:
        return bool(os.read(fd, 65536))
    except OSError as exc:
        return exc.errno in (errno.EAGAIN, errno.EINTR)


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except (BlockingIOError, InterruptedError):
        pass


def _thread_count() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def run() -> None:
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
