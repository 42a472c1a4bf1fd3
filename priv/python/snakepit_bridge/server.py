"""Worker process entry point: ``python -m snakepit_bridge.server --adapter module:Class``.

Loads the adapter, serves ``snakepit.bridge.Worker`` over gRPC on HOST:0, and
announces itself with one JSON line on --ready-fd (or stdout):
``{"event":"ready","address":"127.0.0.1:PORT","pid":PID,"protocol":2}``, or
``{"event":"failed","type":...,"message":...,"traceback":...}`` (exit code 2).
"""
import argparse
import faulthandler
import json
import logging
import os
import signal
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional

from . import PROTOCOL_VERSION, __version__
from . import _lifeline as lifeline
from ._protocol import DEFAULT_MAX_MESSAGE_BYTES, SERVICE_NAME
from ._secrets import Secrets, read_secrets

DEFAULT_SHUTDOWN_GRACE_MS = 1000
EXIT_WATCHDOG_SECONDS = 5.0
EXIT_FAILED = 2

log = logging.getLogger("snakepit_bridge")


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m snakepit_bridge.server", description="Snakepit Python worker"
    )
    p.add_argument("--adapter", required=True, help="module:Class (or module.Class)")
    p.add_argument("--run-id", default="", help="host run id (identifies its processes)")
    p.add_argument("--worker-id", default="", help="host-assigned worker id, for logs")
    p.add_argument("--ready-fd", type=int, default=None, help="fd for the handshake line")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (port is OS-chosen), without --socket")
    p.add_argument("--socket", default=None, help="a Unix socket path to listen on instead of TCP")
    p.add_argument(
        "--secrets-fd", type=int, default=None,
        help="fd with the host's address and secret and this worker's own secret (JSON); "
             "with it, every call must carry the worker's secret",
    )
    p.add_argument("--max-message-bytes", type=_positive_int, default=DEFAULT_MAX_MESSAGE_BYTES)
    p.add_argument(
        "--concurrent-calls", type=_positive_int, default=1,
        help="tool calls the host may run at once (above 1: the thread profile; the adapter "
             "must declare thread_safe = True)",
    )
    p.add_argument(
        "--bridge-version", default=None,
        help="the snakepit_bridge version the host expects; another one refuses to start",
    )
    p.add_argument(
        "--shutdown-grace-ms", type=_non_negative_int, default=DEFAULT_SHUTDOWN_GRACE_MS,
        help="after SIGTERM, how long running calls may take before on_stop runs (the host "
             "passes half of its SIGKILL delay)",
    )
    p.add_argument("--shm-dir", default=None, help="the run's shared-memory directory (made by the host)")
    p.add_argument("--shm-prefix", default="", help="what the names of this worker's segments start with")
    p.add_argument(
        "--shm-threshold", type=_non_negative_int, default=1 << 20,
        help="buffers of at least this many bytes go through shared memory",
    )
    p.add_argument(
        "--threads", type=_positive_int, default=None,
        help="gRPC handler threads (default: concurrent calls + 4: the channel's, and unary calls)",
    )
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Run the worker until SIGTERM/SIGINT; return the exit code."""
    refused = _refuse_another_version(argv)
    if refused is not None:
        return refused
    args = parse_args(argv)
    _setup_stdio()
    _setup_logging(args.worker_id)
    faulthandler.enable(all_threads=True)
    if hasattr(signal, "SIGUSR1"):
        faulthandler.register(signal.SIGUSR1, all_threads=True)

    try:
        sink = ReadySink(args.ready_fd)
    except OSError as exc:
        log.error("--ready-fd %s is not an open file descriptor: %s", args.ready_fd, exc)
        return EXIT_FAILED

    try:
        secrets = read_secrets(args.secrets_fd)
    except (OSError, ValueError) as exc:
        _report_failure(sink, exc)
        return EXIT_FAILED
    return serve(args, sink, secrets)


def serve(
    args: argparse.Namespace, sink: "ReadySink", secrets: Optional[Secrets],
    host_pid: Optional[int] = None,
) -> int:
    """Load the adapter, serve until SIGTERM/SIGINT and return the exit code: the part of a
    worker's life after its handshake channel and secrets are in hand, the same for a spawned
    worker and one forked from a template (``host_pid``: the host to watch, which is not the
    parent of a forked worker)."""
    log.info(
        "starting snakepit_bridge %s: adapter=%s run_id=%s worker_id=%s pid=%d python=%s",
        __version__, args.adapter, args.run_id, args.worker_id, os.getpid(),
        sys.version.split()[0],
    )
    holder: Dict[str, Any] = {}
    lifeline.watch(lambda reason: _die(reason, holder.get("server")), host_pid=host_pid)

    try:
        worker = _load_worker(args, secrets)
        server, channels, address = _build_server(worker, args, secrets)
    except BaseException as exc:  # import errors, SystemExit in the adapter, bind errors...
        _report_failure(sink, exc)
        return EXIT_FAILED
    holder["server"] = server

    stop_requested = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        if stop_requested.is_set():
            log.info("signal %d ignored: already shutting down", signum)
        stop_requested.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    server.start()
    try:
        sink.send({"event": "ready", "address": address, "pid": os.getpid(),
                   "protocol": PROTOCOL_VERSION})
    except OSError as exc:
        log.error("cannot write the ready line: %s", exc)
        server.stop(0)
        return EXIT_FAILED
    log.info("ready on %s (%d tools)", address, len(worker.adapter.tool_index()))

    while not stop_requested.wait(1.0):
        pass
    return _shutdown(server, channels, worker, args.shutdown_grace_ms / 1000.0)


def _refuse_another_version(argv: Optional[List[str]]) -> Optional[int]:
    """The version check, before the full parse: a host of another version may pass options this
    bridge does not know, and the right answer to that is BridgeVersionMismatch, not a usage error."""
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--bridge-version", default=None)
    early.add_argument("--ready-fd", type=int, default=None)
    known, _ = early.parse_known_args(argv)
    if known.bridge_version is None or known.bridge_version == __version__:
        return None
    try:
        sink = ReadySink(known.ready_fd)
    except OSError:
        sink = ReadySink(None)
    _report_failure(sink, BridgeVersionMismatch(known.bridge_version))
    return EXIT_FAILED


class BridgeVersionMismatch(RuntimeError):
    """The host expects another version of snakepit_bridge than the one this Python imported."""

    def __init__(self, expected: str) -> None:
        here = os.path.dirname(os.path.abspath(__file__))
        super().__init__(
            f"this Python imported snakepit_bridge {__version__} from {here}, but the host is "
            f"@snakepit/nestjs {expected}. Install the bridge that ships with it "
            "(pip install node_modules/@snakepit/nestjs/priv/python), or let the workers use "
            "that copy (python.bridge: 'bundled', the default)"
        )


class AdapterNotThreadSafeError(RuntimeError):
    """The thread profile was asked of an adapter that does not declare thread_safe = True."""


def _load_worker(args: argparse.Namespace, secrets: Optional[Secrets]) -> Any:
    from ._channel import FRAME_SLACK
    from ._dispatch import Worker
    from ._host_client import configure
    from ._invoke import run_coroutine
    from ._loader import load_adapter
    from ._segments import configure as configure_shared_memory

    # For the host client, created when a tool first uses session state or host tools: where
    # the host is and its secret, from the secrets pipe (never the environment), before any
    # adapter code runs.
    configure(
        max_message_bytes=args.max_message_bytes, worker_id=args.worker_id,
        host=(secrets.host_address, secrets.host_secret) if secrets else None,
    )
    configure_shared_memory(args.shm_dir, args.shm_prefix, args.shm_threshold)
    adapter, name = load_adapter(args.adapter)
    if args.concurrent_calls > 1 and not getattr(adapter, "thread_safe", False):
        raise AdapterNotThreadSafeError(
            f"adapter {name} does not declare thread_safe = True, and the thread profile runs "
            f"{args.concurrent_calls} of its calls at once in one process. Make its tools safe to "
            "run concurrently and set thread_safe = True on the class, or use workerProfile 'process'"
        )
    # A reply travels in a channel frame: its limit leaves room for the framing.
    worker = Worker(adapter, name, args.max_message_bytes - FRAME_SLACK)
    result = adapter.on_start()
    if result is not None and hasattr(result, "__await__"):
        run_coroutine(result)
    return worker


def _build_server(worker: Any, args: argparse.Namespace, secrets: Optional[Secrets]) -> Any:
    import grpc

    from ._auth import WorkerAuthentication
    from ._channel import Channels

    from ._messages import pb2

    # The channel's calls run on threads of their own, one per call the host may run at once;
    # calls the host sent ahead (workers.prefetch) wait for one, in order.
    calls = ThreadPoolExecutor(max_workers=args.concurrent_calls, thread_name_prefix="snakepit-call")
    channels = Channels(worker, calls, args.max_message_bytes)
    # Worker methods return serialized replies: no response_serializer.
    unary, stream = grpc.unary_unary_rpc_method_handler, grpc.unary_stream_rpc_method_handler
    rpcs = [
        ("Ping", unary, worker.ping, pb2.PingRequest),
        ("Describe", unary, worker.describe, pb2.DescribeRequest),
        ("Execute", unary, worker.execute, pb2.ExecuteRequest),
        ("ExecuteStream", stream, worker.execute_stream, pb2.ExecuteRequest),
        ("Cancel", unary, worker.cancel, pb2.CancelRequest),
        ("Channel", grpc.stream_stream_rpc_method_handler, channels.serve, pb2.HostFrames),
    ]
    handlers = {
        name: kind(method, request_deserializer=message.FromString)
        for name, kind, method, message in rpcs
    }
    server = grpc.server(
        # gRPC's own threads: the channels' (one each), and unary calls made by hand.
        ThreadPoolExecutor(max_workers=args.threads or args.concurrent_calls + 4, thread_name_prefix="snakepit-rpc"),
        handlers=(grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),),
        # The host always sends a secret; a worker started by hand without one accepts anyone.
        interceptors=(WorkerAuthentication(secrets.worker_secret),) if secrets else (),
        options=[
            ("grpc.max_send_message_length", args.max_message_bytes),
            ("grpc.max_receive_message_length", args.max_message_bytes),
            ("grpc.so_reuseport", 0),
        ],
    )
    if args.socket:
        address = f"unix:{args.socket}"
        if not server.add_insecure_port(address):
            raise RuntimeError(f"could not listen on {address}")
        return server, channels, address
    host = f"[{args.host}]" if ":" in args.host and not args.host.startswith("[") else args.host
    port = server.add_insecure_port(f"{host}:0")
    if not port:  # older grpcio returns 0 instead of raising
        raise RuntimeError(f"could not bind {host}:0")
    return server, channels, f"{host}:{port}"


def _shutdown(server: Any, channels: Any, worker: Any, grace: float) -> int:
    log.info("shutting down: %d call(s) in flight, grace %.1fs", worker.in_flight, grace)
    # The channels end once their calls are over (within the grace), then the server stops.
    started = time.monotonic()
    channels.drain()
    channels.wait_closed(grace)
    server.stop(grace=max(0.0, grace - (time.monotonic() - started))).wait()
    code = 0
    try:
        result = worker.adapter.on_stop()
        if result is not None and hasattr(result, "__await__"):
            from ._invoke import run_coroutine

            run_coroutine(result)
    except BaseException:
        log.error("adapter on_stop failed:\n%s", traceback.format_exc().rstrip())
        code = 1
    log.info("stopped")
    return code


def _die(reason: str, server: Any) -> None:
    """The host is gone: exit now, whatever is running."""
    _exit_later(0.5, 0)  # in case stop() blocks
    try:
        log.warning("%s; exiting", reason)
    except Exception:
        pass
    try:
        if server is not None:
            server.stop(0)
    except Exception:
        pass
    os._exit(0)


def _report_failure(sink: "ReadySink", exc: BaseException) -> None:
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        message = str(exc)
    except Exception:
        message = f"<unprintable {type(exc).__name__}>"
    sys.stderr.write(tb)
    sys.stderr.flush()
    log.error("worker failed to start: %s: %s", type(exc).__name__, message)
    try:
        sink.send({"event": "failed", "type": type(exc).__name__, "message": message,
                   "traceback": tb})
    except OSError as err:
        log.error("cannot write the failed line: %s", err)


class ReadySink:
    """Where the single handshake line goes: the --ready-fd pipe, or stdout."""

    def __init__(self, fd: Optional[int]) -> None:
        self.fd = fd
        if fd is not None:
            os.fstat(fd)
            if fd > 2:
                os.set_inheritable(fd, False)  # keep it out of adapter subprocesses

    def send(self, event: Dict[str, Any]) -> None:
        line = json.dumps(event, separators=(",", ":")) + "\n"
        if self.fd is None:
            sys.stdout.write(line)
            sys.stdout.flush()
            return
        data = line.encode("utf-8")
        fd, self.fd = self.fd, None
        try:
            while data:
                data = data[os.write(fd, data):]
        finally:
            if fd > 2:
                os.close(fd)


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _setup_stdio() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(line_buffering=True)
        except (AttributeError, ValueError):
            pass


def _setup_logging(worker_id: str, tag: Optional[str] = None) -> None:
    """The bridge's log lines on stderr, tagged with the worker (or `tag`) and the pid."""
    handler = logging.StreamHandler(sys.stderr)
    if tag is None:
        tag = f" worker={worker_id}" if worker_id else ""
    handler.setFormatter(
        logging.Formatter(f"[snakepit_bridge{tag} pid={os.getpid()}] %(levelname)s %(message)s")
    )
    log.handlers[:] = [handler]
    try:
        log.setLevel(os.environ.get("SNAKEPIT_LOG_LEVEL", "INFO").upper())
    except ValueError:
        log.setLevel(logging.INFO)
    log.propagate = False


def run() -> None:
    """Console entry: run main(), then exit even if stray non-daemon threads linger."""
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    _exit_later(EXIT_WATCHDOG_SECONDS, code)
    sys.exit(code)


def _exit_later(seconds: float, code: int) -> None:
    timer = threading.Timer(seconds, os._exit, args=(code,))
    timer.daemon = True
    timer.start()


if __name__ == "__main__":
    run()
