"""session_context inside tool calls: sync and async tools, the showcase, a real worker."""
import asyncio
import json
import socket
import threading
import unittest
from unittest import mock

from tests import PRIV_PYTHON  # noqa: F401  (sys.path)
from tests.support import value_of, SHOWCASE, HostEnv, WorkerProcess, ensure_stubs

from snakepit_bridge import BaseAdapter, SessionContext, tool  # noqa: E402

pb2 = Worker = host = None


def setUpModule():
    global pb2, Worker, host
    ensure_stubs()
    from snakepit_bridge._dispatch import Worker as _Worker
    from snakepit_bridge._messages import pb2 as _pb2
    from tests.fake_host import FakeHost

    pb2, Worker = _pb2, _Worker
    host = FakeHost()


def tearDownModule():
    if host is not None:
        host.stop()


class SessionTools(BaseAdapter):
    def __init__(self):
        self.seen = []

    @tool
    def info(self):
        ctx = self.session_context
        self.seen.append(ctx)
        return {"session_id": ctx.session_id, "ephemeral": ctx.ephemeral}

    @tool
    def remember(self, value):
        self.session_context.set_state("v", value)
        return self.session_context.get_state("v")

    @tool
    async def ainfo(self, delay=0.0):
        await asyncio.sleep(delay)  # let concurrent calls interleave on the loop
        ctx = self.session_context
        return {"session_id": ctx.session_id, "ephemeral": ctx.ephemeral}

    @tool
    async def aremember(self, value):
        self.session_context.set_state("v", value)
        await asyncio.sleep(0)
        return await asyncio.to_thread(lambda: self.session_context.get_state("v"))

    @tool
    def read_twice(self, key="k"):
        ctx = self.session_context
        return [ctx.get_state(key), ctx.get_state(key)]

    @tool
    def plain(self):
        return "no host needed"


def call(worker, tool_name, session_id="", request_id="r1", **args):
    wire = worker.execute(pb2.ExecuteRequest(
        tool=tool_name, args=pb2.Value(json=json.dumps(args).encode()), request_id=request_id,
        session_id=session_id))
    reply = pb2.ExecuteReply.FromString(wire)
    if reply.WhichOneof("outcome") == "error":
        raise AssertionError(f"{reply.error.type}: {reply.error.message}")
    value = reply.result
    return value_of(value)


class DispatchTest(unittest.TestCase):
    def setUp(self):
        host.reset()
        env = HostEnv(host.address, host.secret)
        env.__enter__()
        self.addCleanup(env.__exit__)
        self.adapter = SessionTools()
        self.worker = Worker(self.adapter, "tests:SessionTools")

    def test_sync_tool_sees_its_session(self):
        self.assertEqual(call(self.worker, "info", session_id="s1"),
                         {"session_id": "s1", "ephemeral": False})
        self.assertEqual(call(self.worker, "remember", session_id="s1", value=[1]), [1])
        self.assertEqual(host.sessions["s1"]["v"], b"[1]")

    def test_without_a_session_the_context_is_ephemeral(self):
        self.assertEqual(call(self.worker, "info", request_id="req-7"),
                         {"session_id": "ephemeral-req-7", "ephemeral": True})
        self.assertEqual(call(self.worker, "remember", value="x"), "x")
        self.assertEqual(host.calls, [])

    def test_each_call_gets_a_fresh_context_which_is_reset_after(self):
        call(self.worker, "info", session_id="s1")
        call(self.worker, "info", session_id="s1")
        first, second = self.adapter.seen
        self.assertIsNot(first, second)
        with self.assertRaisesRegex(RuntimeError, "only available while the worker runs"):
            self.adapter.session_context

    def test_state_cache_lives_within_one_call(self):
        host.sessions["s1"]["k"] = b"1"
        self.assertEqual(call(self.worker, "read_twice", session_id="s1"), [1, 1])
        self.assertEqual(host.count("get_state"), 1)  # the second read hit the cache
        host.sessions["s1"]["k"] = b"2"  # e.g. SessionService.setState, within the TTL
        self.assertEqual(call(self.worker, "read_twice", session_id="s1"), [2, 2])
        self.assertEqual(host.count("get_state"), 2)
        del host.sessions["s1"]["k"]  # e.g. SessionService.deleteState
        self.assertEqual(call(self.worker, "read_twice", session_id="s1"), [None, None])
        self.assertEqual(host.count("get_state"), 3)

    def test_async_tool_sees_its_session(self):
        self.assertEqual(call(self.worker, "ainfo", session_id="s2"),
                         {"session_id": "s2", "ephemeral": False})
        self.assertEqual(call(self.worker, "aremember", session_id="s2", value={"a": 1}),
                         {"a": 1})
        self.assertEqual(host.sessions["s2"]["v"], b'{"a":1}')

    def test_async_context_on_pythons_before_3_11(self):
        with mock.patch("snakepit_bridge._invoke._TASK_TAKES_CONTEXT", False):
            self.assertEqual(call(self.worker, "ainfo", session_id="s1")["session_id"], "s1")

    def test_concurrent_async_calls_keep_their_own_sessions(self):
        results = {}

        def run(session_id):
            results[session_id] = call(self.worker, "ainfo", session_id=session_id,
                                       delay=0.05)["session_id"]

        threads = [threading.Thread(target=run, args=(f"s-{i}",)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(5)
        self.assertEqual(results, {f"s-{i}": f"s-{i}" for i in range(4)})

    def test_tools_without_the_host_work_without_the_environment(self):
        with HostEnv(None, None):
            self.assertEqual(call(self.worker, "plain", session_id="s1"), "no host needed")
            self.assertEqual(call(self.worker, "info", session_id="s1")["session_id"], "s1")
            wire = self.worker.execute(pb2.ExecuteRequest(
                tool="remember", args=pb2.Value(json=b'{"value":1}'), session_id="s1"))
            err = pb2.ExecuteReply.FromString(wire).error
            self.assertEqual(err.type, "HostUnavailableError")
            self.assertIn("not started by a Snakepit host", err.message)

    def test_outside_a_call(self):
        with self.assertRaisesRegex(RuntimeError, "session_context"):
            BaseAdapter().session_context


class ShowcaseTest(unittest.TestCase):
    def setUp(self):
        from snakepit_showcase.adapter import ShowcaseAdapter

        host.reset()
        env = HostEnv(host.address, host.secret)
        env.__enter__()
        self.addCleanup(env.__exit__)
        self.worker = Worker(ShowcaseAdapter())

    def test_session_tools(self):
        info = call(self.worker, "session_info", session_id="s1")
        self.assertEqual((info["session_id"], info["ephemeral"]), ("s1", False))
        self.assertEqual(call(self.worker, "counter", session_id="s1")["counter"], 1)
        self.assertEqual(call(self.worker, "counter", session_id="s1", step=5)["counter"], 6)
        self.assertEqual(call(self.worker, "set_state", session_id="s1", key="k", value=[1]),
                         {"ok": True})
        self.assertEqual(call(self.worker, "get_state", session_id="s1", key="k"), [1])
        self.assertIsNone(call(self.worker, "get_state", session_id="s1", key="other"))

    def test_host_tools(self):
        self.assertEqual(call(self.worker, "add_via_host", a=1, b=2), {"sum": 3, "via": "host"})
        self.assertEqual(call(self.worker, "call_host", name="add", args={"a": 4, "b": 5}), 9)
        self.assertEqual(call(self.worker, "host_tool_names"), ["add", "echo"])
        self.assertEqual(call(self.worker, "call_host_error", name="invalid"), {
            "type": "HostToolValidationError", "code": "INVALID_ARGUMENTS",
            "message": "a must be a number", "is_value_error": True})
        self.assertEqual(call(self.worker, "call_host_error", name="nope")["type"],
                         "HostToolNotFoundError")
        self.assertEqual(call(self.worker, "call_host_error", name="add",
                              args={"a": 1, "b": 1})["result"], 2)


class RealWorkerTest(unittest.TestCase):
    """The worker process gets the host's address and secret over a pipe, never in its environment."""

    def test_counter_through_a_worker_process(self):
        host.reset()
        with socket.socket() as s:  # a proxy nobody listens on: the worker must ignore it
            s.bind(("127.0.0.1", 0))
            proxy = f"http://127.0.0.1:{s.getsockname()[1]}"
        worker = WorkerProcess(SHOWCASE, host=host, env={
            "SNAKEPIT_WORKER_ID": "w9", "http_proxy": proxy, "https_proxy": proxy,
            "grpc_proxy": proxy, "no_proxy": "", "NO_PROXY": ""})
        try:
            self.assertEqual(worker.event.get("event"), "ready", worker.event)
            execute = worker.stub("Execute")

            def run(tool_name, **args):
                reply = execute(pb2.ExecuteRequest(
                    tool=tool_name, args=pb2.Value(json=json.dumps(args).encode()), session_id="s1"),
                    timeout=10)
                self.assertEqual(reply.WhichOneof("outcome"), "result", reply)
                return json.loads(reply.result.json)

            # Never in the environment (it came over a pipe), not even the process's initial one...
            self.assertEqual(run("host_secret_visible", secret=host.secret),
                             {"in_environ": False, "in_initial_environ": False, "in_subprocess": False})
            self.assertEqual(run("host_secret_visible", secret=worker.worker_secret),
                             {"in_environ": False, "in_initial_environ": False, "in_subprocess": False})
            # ...yet host calls work (through the proxy variables, which are ignored).
            self.assertEqual(run("counter")["counter"], 1)
            self.assertEqual(run("counter", step=2)["counter"], 3)
            self.assertEqual(run("call_host", name="echo")["worker_id"], "w9")
            self.assertEqual(run("counter")["counter"], 4)
            host.sessions["s1"]["counter"] = b"10"  # set on the host between calls
            self.assertEqual(run("counter")["counter"], 11)
            self.assertEqual(host.secrets_seen, [host.secret] * len(host.secrets_seen))
        finally:
            worker.close()


class SessionContextTest(unittest.TestCase):
    def test_creation_is_cheap_and_local(self):
        ctx = SessionContext("s1")
        self.assertEqual((ctx.session_id, ctx.ephemeral), ("s1", False))
        self.assertIn("s1", repr(ctx))
        self.assertFalse(hasattr(ctx, "__dict__"))


if __name__ == "__main__":
    unittest.main()
