"""The template process and its fork loop, driven as the host drives it: a control socket, an
attach socket the forked workers connect to, their secrets, handshakes and exit statuses."""
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from typing import Any, Dict, List, Optional

from tests import PRIV_PYTHON  # noqa: F401  (sys.path)
from tests.support import SHOWCASE, WithMetadata, ensure_stubs, process_gone, worker_env

pb2: Any = None


def setUpModule():
    global pb2
    ensure_stubs()
    from snakepit_bridge._messages import pb2 as _pb2

    pb2 = _pb2


def wait_for(condition, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def proc_field(pid: int, name: str) -> str:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split(":", 1)[1].strip()
    raise KeyError(name)


class Lines:
    """JSON lines read from a socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.buffer = sock, b""

    def next(self, timeout: float = 15.0) -> Dict[str, Any]:
        self.sock.settimeout(timeout)
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(f"closed (after {self.buffer!r})")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)


class ForkedWorker:
    def __init__(self, worker_id: str, pid: int, control: socket.socket, streams: Dict[str, socket.socket],
                 ready: Dict[str, Any], secret: str) -> None:
        self.id, self.pid, self.control, self.streams, self.ready, self.secret = worker_id, pid, control, streams, ready, secret
        self._channel = None

    def stub(self, method: str) -> Any:
        import grpc

        if self._channel is None:
            self._channel = grpc.insecure_channel(self.ready["address"])
            grpc.channel_ready_future(self._channel).result(timeout=10)
        request, reply = {"Ping": (pb2.PingRequest, pb2.PingReply), "Execute": (pb2.ExecuteRequest, pb2.ExecuteReply)}[method]
        call = self._channel.unary_unary(
            f"/snakepit.bridge.Worker/{method}", request_serializer=request.SerializeToString,
            response_deserializer=reply.FromString,
        )
        return WithMetadata(call, (("x-snakepit-worker-secret", self.secret),))

    def execute(self, tool: str, **args: Any) -> Any:
        reply = self.stub("Execute")(pb2.ExecuteRequest(tool=tool, args=pb2.Value(json=json.dumps(args).encode()), request_id=secrets.token_hex(8)), timeout=10)
        self.assert_ok(reply)
        return json.loads(reply.result.json)

    @staticmethod
    def assert_ok(reply: Any) -> None:
        if reply.HasField("error"):
            raise AssertionError(f"tool failed: {reply.error}")

    def output(self, stream: str) -> str:
        sock = self.streams[stream]
        sock.setblocking(False)
        data = b""
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except BlockingIOError:
            pass
        return data.decode("utf-8", "replace")

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
        for sock in (self.control, *self.streams.values()):
            sock.close()
        if not process_gone(self.pid):
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class TemplateHost:
    """What the host does for a template: spawn it with a control socket, and fork workers."""

    def __init__(self, adapter: str = SHOWCASE) -> None:
        self.dir = tempfile.mkdtemp(prefix="snakepit-tt-")
        os.chmod(self.dir, 0o700)
        self.attach_path = os.path.join(self.dir, "attach.sock")
        self.attach = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.attach.bind(self.attach_path)
        self.attach.listen(16)
        ours, theirs = socket.socketpair()
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "snakepit_bridge.template", "--adapter", adapter, "--run-id", "unittest",
             "--pool", "tt", "--control-fd", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self.stderr,
            env={**worker_env(), "SNAKEPIT_RUN_ID": "unittest"}, cwd=PRIV_PYTHON,
        )
        theirs.close()
        self.control = ours
        self.events = Lines(ours)
        self.pending: List[Dict[str, Any]] = []
        self.workers: List[ForkedWorker] = []

    def event(self, kind: str, timeout: float = 15.0) -> Dict[str, Any]:
        for i, event in enumerate(self.pending):
            if event["event"] == kind:
                return self.pending.pop(i)
        while True:
            event = self.events.next(timeout)
            if event["event"] == kind:
                return event
            self.pending.append(event)

    def fork(self, worker_id: str) -> ForkedWorker:
        token = secrets.token_hex(16)
        socket_path = os.path.join(self.dir, f"{worker_id}.sock")
        args = ["--adapter", SHOWCASE, "--run-id", "unittest", "--worker-id", worker_id, "--socket", socket_path]
        self.control.sendall((json.dumps({"op": "fork", "id": worker_id, "token": token, "attach": self.attach_path, "args": args}) + "\n").encode())
        forked = self.event("forked")
        self.assert_equal(forked["id"], worker_id)
        streams: Dict[str, socket.socket] = {}
        self.attach.settimeout(15)
        hellos = {}
        while len(streams) < 3:
            conn, _ = self.attach.accept()
            lines = Lines(conn)
            hello = lines.next()
            self.assert_equal(hello["token"], token)
            streams[hello["stream"]] = conn
            hellos[hello["stream"]] = lines
        control = streams.pop("control")
        secret = secrets.token_hex(32)
        control.sendall((json.dumps({"hostAddress": "", "hostSecret": "", "workerSecret": secret}) + "\n").encode())
        ready = hellos["control"].next()
        worker = ForkedWorker(worker_id, forked["pid"], control, streams, ready, secret)
        self.workers.append(worker)
        return worker

    @staticmethod
    def assert_equal(a: Any, b: Any) -> None:
        if a != b:
            raise AssertionError(f"{a!r} != {b!r}")

    def stderr_text(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")

    def close(self) -> None:
        for worker in self.workers:
            worker.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        if self.proc.stdin:
            self.proc.stdin.close()
        self.control.close()
        self.attach.close()
        self.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class TemplateForkTest(unittest.TestCase):
    def setUp(self):
        self.host = TemplateHost()
        self.ready = self.host.event("ready")

    def tearDown(self):
        self.host.close()

    def test_forks_workers_that_serve_each_on_its_own(self):
        self.assertEqual(self.ready["pid"], self.host.proc.pid)
        a, b = self.host.fork("tt-1"), self.host.fork("tt-2")
        self.assertEqual(a.ready["event"], "ready", a.ready)
        self.assertEqual(a.ready["pid"], a.pid)
        self.assertNotEqual(a.pid, b.pid)
        for worker in (a, b):
            self.assertEqual(worker.execute("add", a=2, b=3), 5)
            self.assertEqual(worker.execute("pid"), worker.pid)
            # A child of the template, leading a session (and process group) of its own.
            self.assertEqual(int(proc_field(worker.pid, "PPid")), self.host.proc.pid)
            self.assertEqual(os.getsid(worker.pid), worker.pid)
            self.assertEqual(os.getpgid(worker.pid), worker.pid)

    def test_refuses_calls_without_its_secret(self):
        import grpc

        worker = self.host.fork("tt-1")
        ping = worker.stub("Ping")
        bad = WithMetadata(ping._call, (("x-snakepit-worker-secret", "wrong"),))
        with self.assertRaises(grpc.RpcError) as raised:
            bad(pb2.PingRequest(), timeout=5)
        self.assertEqual(raised.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        ping(pb2.PingRequest(), timeout=5)

    def test_what_a_tool_starts_carries_the_worker_marker(self):
        worker = self.host.fork("tt-7")
        sleeper = worker.execute("spawn_sleeper", seconds=30)
        try:
            with open(f"/proc/{sleeper}/environ", "rb") as f:
                environ = f.read().split(b"\0")
            self.assertIn(b"SNAKEPIT_WORKER_ID=tt-7", environ)
            self.assertIn(b"SNAKEPIT_RUN_ID=unittest", environ)
        finally:
            os.kill(sleeper, signal.SIGKILL)

    def test_output_goes_to_the_host_over_the_attached_streams(self):
        worker = self.host.fork("tt-1")
        text = ""
        deadline = time.monotonic() + 5
        while "ready on unix:" not in text and time.monotonic() < deadline:
            text += worker.output("stderr")
            time.sleep(0.05)
        self.assertIn("worker=tt-1", text)
        self.assertIn("ready on unix:", text)

    def test_reports_the_exit_of_each_worker_it_forked(self):
        worker = self.host.fork("tt-1")
        os.kill(worker.pid, signal.SIGKILL)
        exited = self.host.event("exited")
        self.assertEqual(exited, {"event": "exited", "pid": worker.pid, "code": None, "signal": "SIGKILL"})
        other = self.host.fork("tt-2")
        self.assertEqual(other.execute("add", a=1, b=1), 2)  # serving: its SIGTERM handler is in place
        os.kill(other.pid, signal.SIGTERM)  # a graceful stop: on_stop, exit 0
        self.assertEqual(self.host.event("exited"), {"event": "exited", "pid": other.pid, "code": 0, "signal": None})

    def test_a_worker_outlives_its_template(self):
        worker = self.host.fork("tt-1")
        self.host.proc.kill()
        self.host.proc.wait(timeout=10)
        time.sleep(1.5)  # past the lifeline's poll: it watches the host, not its parent
        self.assertFalse(process_gone(worker.pid))
        self.assertEqual(worker.execute("add", a=1, b=1), 2)

    def test_a_worker_exits_when_its_host_channel_closes(self):
        worker = self.host.fork("tt-1")
        worker.control.close()
        wait_for(lambda: process_gone(worker.pid), what="the worker to exit")

    def test_the_template_exits_when_its_stdin_closes(self):
        self.host.proc.stdin.close()
        self.assertEqual(self.host.proc.wait(timeout=10), 0)

    def test_a_worker_whose_attach_socket_is_gone_exits(self):
        os.unlink(self.host.attach_path)
        token = secrets.token_hex(16)
        self.host.control.sendall((json.dumps({"op": "fork", "id": "tt-9", "token": token, "attach": self.host.attach_path, "args": []}) + "\n").encode())
        forked = self.host.event("forked")
        exited = self.host.event("exited")
        self.assertEqual(exited["pid"], forked["pid"])
        self.assertEqual(exited["code"], 70)


class TemplateStartTest(unittest.TestCase):
    def test_an_adapter_that_does_not_import_fails_the_template(self):
        host = TemplateHost("no_such_module_xyz:Adapter")
        try:
            failed = host.event("failed")
            self.assertEqual(failed["type"], "ModuleNotFoundError")
            self.assertEqual(host.proc.wait(timeout=10), 2)
        finally:
            host.close()


    def test_an_adapter_module_that_starts_threads_fails_the_template(self):
        host = TemplateHost("tests.threaded_adapter:ThreadedAdapter")
        try:
            failed = host.event("failed")
            self.assertEqual(failed["type"], "TemplateThreadsError")
            self.assertIn("exporter", failed["message"])
            self.assertEqual(host.proc.wait(timeout=10), 2)
        finally:
            host.close()


class ReseedTest(unittest.TestCase):
    def test_forked_children_draw_different_numbers(self):
        import random

        from snakepit_bridge.template import reseed

        draws = []
        for _ in range(2):
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:
                reseed()
                os.write(write, str(random.random()).encode())
                os._exit(0)
            os.close(write)
            draws.append(os.read(read, 100))
            os.close(read)
            os.waitpid(pid, 0)
        self.assertNotEqual(draws[0], draws[1])


if __name__ == "__main__":
    unittest.main()
