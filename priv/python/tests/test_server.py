"""The real worker process: handshake, gRPC calls, SIGTERM drain, parent death."""
import json
import os
import signal
import subprocess
import sys
import time
import unittest

from tests import PRIV_PYTHON  # noqa: F401  (sys.path)
from tests.support import (
    value_of, SHOWCASE, WorkerProcess, binary_reply_size, ensure_stubs, largest_binary_result, process_gone, read_line, worker_env,
)

pb2 = None
LIMIT = 200_000


def setUpModule():
    global pb2
    ensure_stubs()
    from snakepit_bridge._messages import pb2 as _pb2

    pb2 = _pb2


def execute_request(tool, **args):
    return pb2.ExecuteRequest(tool=tool, args=pb2.Value(json=json.dumps(args).encode()), request_id="t")


def wait_gone(pid, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process_gone(pid):
            return True
        time.sleep(0.05)
    return False


class RunningWorkerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.worker = WorkerProcess(SHOWCASE, extra=["--max-message-bytes", str(LIMIT)])
        if cls.worker.event.get("event") != "ready":
            cls.worker.close()
            raise AssertionError(f"worker did not start: {cls.worker.event}")
        cls.execute = cls.worker.stub("Execute")

    @classmethod
    def tearDownClass(cls):
        cls.worker.close()

    def run_tool(self, tool, **args):
        return self.execute(execute_request(tool, **args), timeout=10)

    def test_ready_line(self):
        event = self.worker.event
        self.assertEqual(set(event), {"event", "address", "pid", "protocol"})
        self.assertEqual(event["pid"], self.worker.proc.pid)
        self.assertEqual(event["protocol"], 3)
        self.assertRegex(event["address"], r"^127\.0\.0\.1:\d+$")

    def test_ping(self):
        reply = self.worker.stub("Ping")(pb2.PingRequest(), timeout=10)
        self.assertEqual((reply.pid, reply.in_flight), (self.worker.proc.pid, 0))

    def test_describe(self):
        reply = self.worker.stub("Describe")(pb2.DescribeRequest(), timeout=10)
        self.assertEqual(reply.protocol_version, 3)
        self.assertEqual(reply.adapter, SHOWCASE)
        names = {t.name for t in reply.tools}
        self.assertTrue({"ping", "echo", "add", "sleep", "async_add", "random_bytes"} <= names)
        add = next(t for t in reply.tools if t.name == "add")
        self.assertEqual(add.description, "Return a + b.")
        self.assertEqual([p["name"] for p in json.loads(add.parameters_json)], ["a", "b"])

    def test_execute(self):
        self.assertEqual(json.loads(self.run_tool("add", a=2, b=40).result.json), 42)
        self.assertEqual(json.loads(self.run_tool("echo", x=[1, "y"]).result.json), {"x": [1, "y"]})
        self.assertEqual(json.loads(self.run_tool("async_add", a=1, b=2).result.json), 3)
        self.assertEqual(value_of(self.run_tool("bytes_of", n=3, fill=9).result), b"\x09" * 3)
        self.assertEqual(len(value_of(self.run_tool("random_bytes", n=1000).result)), 1000)

    def test_execute_errors(self):
        err = self.run_tool("raise_error", type="KeyError", message="k").error
        self.assertEqual((err.type, err.message), ("KeyError", "'k'"))
        self.assertIn("Traceback", err.traceback)
        err = self.run_tool("raise_error", type="NoSuchError", message="m").error
        self.assertEqual((err.type, err.message), ("ShowcaseError", "m"))
        self.assertEqual(json.loads(err.details_json), {"module": "snakepit_showcase.adapter", "bases": ["Exception"]})
        self.assertEqual(self.run_tool("missing_tool").error.type, "UnknownToolError")
        self.assertEqual(self.run_tool("unserializable").error.type, "ResultNotSerializableError")


    def test_reply_of_exactly_the_limit_passes_grpc(self):
        # A reply's limit leaves room for the channel's framing.
        from snakepit_bridge._channel import FRAME_SLACK

        budget = LIMIT - FRAME_SLACK
        n = largest_binary_result(budget)
        self.assertEqual(binary_reply_size(n), budget)
        self.assertEqual(len(value_of(self.run_tool("bytes_of", n=n).result)), n)
        err = self.run_tool("bytes_of", n=n + 1).error
        self.assertEqual(err.type, "PayloadTooLargeError")
        self.assertIn(str(budget), err.message)


class AuthenticationTest(unittest.TestCase):
    """A worker the host started takes calls only with its secret, refused before being read."""

    @classmethod
    def setUpClass(cls):
        cls.worker = WorkerProcess(SHOWCASE)
        if cls.worker.event.get("event") != "ready":
            cls.worker.close()
            raise AssertionError(f"worker did not start: {cls.worker.event}")

    @classmethod
    def tearDownClass(cls):
        cls.worker.close()

    def test_refuses_calls_without_the_secret_or_with_another(self):
        import grpc

        for secret in ("", "0" * 64):
            for method, request in (("Ping", pb2.PingRequest()), ("Execute", execute_request("add", a=1, b=2)),
                                    ("Cancel", pb2.CancelRequest(request_id="x"))):
                with self.assertRaises(grpc.RpcError) as refused:
                    self.worker.stub(method, secret=secret)(request, timeout=10)
                self.assertEqual(refused.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        self.assertEqual(json.loads(self.worker.stub("Execute")(execute_request("add", a=1, b=2), timeout=10).result.json), 3)

    def test_refuses_a_large_message_without_reading_it(self):
        import grpc

        big = execute_request("echo", blob="x" * (8 * 1024 * 1024))
        with self.assertRaises(grpc.RpcError) as refused:
            self.worker.stub("Execute", secret="wrong")(big, timeout=30)
        self.assertEqual(refused.exception.code(), grpc.StatusCode.UNAUTHENTICATED)


class UnixSocketTest(unittest.TestCase):
    def test_serves_on_a_unix_socket(self):
        import tempfile

        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "w.sock")
            worker = WorkerProcess(SHOWCASE, extra=["--socket", path])
            try:
                self.assertEqual(worker.event.get("address"), f"unix:{path}")
                self.assertEqual(json.loads(worker.stub("Execute")(execute_request("add", a=2, b=2), timeout=10).result.json), 4)
            finally:
                worker.close()


class ShutdownTest(unittest.TestCase):
    def setUp(self):
        self.worker = WorkerProcess(SHOWCASE)
        self.assertEqual(self.worker.event.get("event"), "ready", self.worker.event)

    def tearDown(self):
        self.worker.close()

    def test_sigterm_lets_in_flight_call_finish_then_exits_0(self):
        ping = self.worker.stub("Ping")
        future = self.worker.stub("Execute").future(execute_request("sleep", ms=300), timeout=15)
        deadline = time.monotonic() + 5
        while ping(pb2.PingRequest(), timeout=5).in_flight < 1:
            self.assertLess(time.monotonic(), deadline, "the call never started")
            time.sleep(0.01)
        self.worker.proc.send_signal(signal.SIGTERM)
        reply = future.result(timeout=15)
        self.assertEqual(json.loads(reply.result.json)["slept_ms"], 300)
        self.assertEqual(self.worker.proc.wait(timeout=10), 0)
        self.assertIn("shutting down", self.worker.stderr_text())

    def test_sigterm_cuts_off_a_call_that_outlives_the_grace_the_host_gave(self):
        worker = WorkerProcess(SHOWCASE, extra=["--shutdown-grace-ms", "200"])
        try:
            ping = worker.stub("Ping")
            future = worker.stub("Execute").future(execute_request("sleep", ms=60_000), timeout=90)
            deadline = time.monotonic() + 5
            while ping(pb2.PingRequest(), timeout=5).in_flight < 1:
                self.assertLess(time.monotonic(), deadline, "the call never started")
                time.sleep(0.01)
            worker.proc.send_signal(signal.SIGTERM)
            # Long before the call's own end: the grace is 0.2 s, not the call's 60 s.
            self.assertEqual(worker.proc.wait(timeout=20), 0)
            self.assertIn("grace 0.2s", worker.stderr_text())
            with self.assertRaises(Exception):
                future.result(timeout=5)
        finally:
            worker.close()

    def test_exits_when_stdin_closes(self):
        started = time.monotonic()
        self.worker.proc.stdin.close()
        self.worker.proc.wait(timeout=5)
        self.assertLess(time.monotonic() - started, 3)
        self.assertIn("stdin closed", self.worker.stderr_text())


class ParentDeathTest(unittest.TestCase):
    """SIGKILL the worker's parent; with stdin not a pipe, the ppid check must fire."""

    def setUp(self):
        self.worker_pid = None
        launcher = (
            "import subprocess, sys, time\n"
            "subprocess.Popen([sys.executable, '-m', 'snakepit_bridge.server', '--adapter', "
            f"{SHOWCASE!r}], stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
            "time.sleep(60)\n"
        )
        self.parent = subprocess.Popen(
            [sys.executable, "-c", launcher], stdout=subprocess.PIPE, env=worker_env(),
            cwd=PRIV_PYTHON,
        )

    def tearDown(self):
        if self.parent.poll() is None:
            self.parent.kill()
        self.parent.wait(timeout=10)
        self.parent.stdout.close()
        if self.worker_pid and not process_gone(self.worker_pid):
            os.kill(self.worker_pid, signal.SIGKILL)

    def test_worker_exits_after_parent_is_killed(self):
        event = json.loads(read_line(self.parent.stdout.fileno(), timeout=15))  # via stdout
        self.assertEqual(event["event"], "ready")
        self.worker_pid = event["pid"]
        self.parent.kill()
        self.parent.wait(timeout=5)
        self.assertTrue(wait_gone(self.worker_pid, 4), "worker outlived its parent")


class FailedStartTest(unittest.TestCase):
    def test_import_failure_reported_on_ready_fd(self):
        worker = WorkerProcess("no_such_module_for_snakepit:Adapter")
        try:
            self.assertEqual(worker.proc.wait(timeout=10), 2)
            event = worker.event
            self.assertEqual(event["event"], "failed")
            self.assertIn(event["type"], ("ModuleNotFoundError", "ImportError"))
            self.assertIn("no_such_module_for_snakepit", event["message"])
            self.assertIn("Traceback", event["traceback"])
            self.assertIn("ModuleNotFoundError", worker.stderr_text())
        finally:
            worker.close()

    def test_another_bridge_version_refuses_to_start(self):
        from snakepit_bridge import __version__

        # A newer host may also pass options this bridge does not know yet: still a clear refusal.
        worker = WorkerProcess(SHOWCASE, extra=["--bridge-version", "0.0.0-other", "--from-a-newer-host", "1"])
        try:
            self.assertEqual(worker.proc.wait(timeout=10), 2)
            event = worker.event
            self.assertEqual((event["event"], event["type"]), ("failed", "BridgeVersionMismatch"))
            self.assertIn(f"snakepit_bridge {__version__}", event["message"])
            self.assertIn("@snakepit/nestjs 0.0.0-other", event["message"])
            self.assertIn("pip install", event["message"])
        finally:
            worker.close()

    def test_init_failure_without_ready_fd_goes_to_stdout(self):
        proc = subprocess.run(
            [sys.executable, "-m", "snakepit_bridge.server",
             "--adapter", "tests.sample_adapters.BrokenInit"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20,
            env=worker_env(), cwd=PRIV_PYTHON,
        )
        self.assertEqual(proc.returncode, 2)
        event = json.loads(proc.stdout.strip().splitlines()[-1])
        self.assertEqual((event["event"], event["type"]), ("failed", "RuntimeError"))
        self.assertEqual(event["message"], "cannot initialise")
        self.assertIn("cannot initialise", proc.stderr)


if __name__ == "__main__":
    unittest.main()
