"""SessionContext against a fake host: secret, state, cache, host tools, error mapping."""
import os
import pickle
import socket
import tempfile
import unittest
from unittest import mock

from tests import PRIV_PYTHON  # noqa: F401  (sys.path)
from tests.support import HostEnv, ensure_stubs

from snakepit_bridge import (  # noqa: E402
    HostError,
    HostToolError,
    HostToolNotFoundError,
    HostToolValidationError,
    HostUnavailableError,
    SessionContext,
    SessionNotFoundError,
)

host = None


def setUpModule():
    global host
    ensure_stubs()
    from tests.fake_host import FakeHost

    host = FakeHost()


def tearDownModule():
    if host is not None:
        host.stop()


class FakeClock:
    """Stands in for time.monotonic in the state cache."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class HostTestCase(unittest.TestCase):
    ttl_ms = "1000"

    def setUp(self):
        host.reset()
        self.clock = FakeClock()
        patcher = mock.patch("snakepit_bridge._ttl_cache._now", self.clock)
        patcher.start()
        self.addCleanup(patcher.stop)
        env = HostEnv(host.address, host.secret, SNAKEPIT_STATE_CACHE_TTL_MS=self.ttl_ms)
        env.__enter__()
        self.addCleanup(env.__exit__)
        self.ctx = SessionContext("s1")


class SecretTest(HostTestCase):
    def test_secret_is_sent_on_every_call(self):
        self.ctx.set_state("k", 1)
        self.ctx.call_host_tool("add", a=1, b=2)
        self.assertEqual(host.secrets_seen, [host.secret, host.secret])

    def test_wrong_secret_is_refused(self):
        with HostEnv(host.address, "wrong"):
            with self.assertRaises(HostUnavailableError) as caught:
                self.ctx.get_state("k")
        err = caught.exception
        self.assertEqual(err.code, "UNAUTHENTICATED")
        self.assertIn("secret", str(err))
        self.assertIn("SNAKEPIT_HOST_SECRET", str(err))

    def test_missing_environment(self):
        with HostEnv(None, None):
            for call in (lambda: self.ctx.get_state("k"), lambda: self.ctx.set_state("k", 1),
                         lambda: self.ctx.call_host_tool("add", a=1, b=2),
                         lambda: self.ctx.host_tools):
                with self.assertRaises(HostUnavailableError) as caught:
                    call()
                self.assertEqual(caught.exception.code, "HOST_NOT_CONFIGURED")
                self.assertIn("not started by a Snakepit host", str(caught.exception))
        self.assertEqual(host.calls, [])

    def test_host_gone_is_unavailable(self):
        with socket.socket() as s:  # a port nobody listens on
            s.bind(("127.0.0.1", 0))
            address = f"127.0.0.1:{s.getsockname()[1]}"
        with HostEnv(address, host.secret, SNAKEPIT_HOST_CALL_TIMEOUT_MS="3000"):
            with self.assertRaises(HostUnavailableError) as caught:
                self.ctx.call_host_tool("add", a=1, b=2)
        self.assertEqual(caught.exception.code, "UNAVAILABLE")
        self.assertIn(address, str(caught.exception))

    def test_proxy_variables_are_ignored(self):
        with socket.socket() as s:  # a proxy nobody listens on
            s.bind(("127.0.0.1", 0))
            proxy = f"http://127.0.0.1:{s.getsockname()[1]}"
        variables = {name: proxy for name in (
            "http_proxy", "https_proxy", "grpc_proxy", "HTTP_PROXY", "HTTPS_PROXY")}
        with mock.patch.dict(os.environ, variables):
            for name in ("no_proxy", "NO_PROXY"):
                os.environ.pop(name, None)
            with HostEnv(host.address, host.secret, SNAKEPIT_HOST_CALL_TIMEOUT_MS="3000"):
                self.assertEqual(self.ctx.call_host_tool("add", a=1, b=2), 3)

    def test_unix_socket_address(self):
        with tempfile.TemporaryDirectory() as tmp:
            from tests.fake_host import FakeHost

            unix_host = FakeHost(f"unix:{os.path.join(tmp, 'host.sock')}")
            try:
                with HostEnv(unix_host.address, unix_host.secret):
                    self.assertEqual(self.ctx.call_host_tool("add", a=2, b=3), 5)
            finally:
                unix_host.stop()


class HostEnvTest(unittest.TestCase):
    def tearDown(self):
        from snakepit_bridge._host_client import reset_client

        reset_client()

    def test_address_and_secret_are_taken_out_of_the_environment(self):
        from snakepit_bridge import _host_client as host_client

        host.reset()
        saved = host_client._process.host_env
        self.addCleanup(setattr, host_client._process, "host_env", saved)
        env = {"SNAKEPIT_HOST_ADDRESS": host.address, "SNAKEPIT_HOST_SECRET": host.secret}
        with mock.patch.dict(os.environ, env):
            host_client.configure()
            self.assertNotIn("SNAKEPIT_HOST_SECRET", os.environ)
            self.assertNotIn("SNAKEPIT_HOST_ADDRESS", os.environ)
            host_client.reset_client()
            self.assertEqual(SessionContext("s1").call_host_tool("add", a=1, b=2), 3)
        self.assertEqual(host.secrets_seen, [host.secret])

    def test_from_env_takes_an_explicit_mapping(self):
        from snakepit_bridge._host_client import HostClient

        client = HostClient.from_env({"SNAKEPIT_HOST_ADDRESS": host.address,
                                      "SNAKEPIT_HOST_SECRET": host.secret})
        try:
            self.assertEqual(client.call_tool("add", {"a": 2, "b": 2}), 4)
        finally:
            client.close()


class StateTest(HostTestCase):
    def test_round_trip(self):
        value = {"list": [1, 2.5, None, True], "text": "za\u017c\u00f3\u0142\u0107"}
        self.ctx.set_state("k", value)
        self.assertEqual(host.sessions["s1"]["k"].decode(), '{"list":[1,2.5,null,true],'
                         '"text":"za\u017c\u00f3\u0142\u0107"}')
        self.assertEqual(self.ctx.get_state("k"), value)
        self.ctx.delete_state("k")
        self.assertNotIn("k", host.sessions["s1"])
        self.assertEqual(self.ctx.get_state("k", "gone"), "gone")

    def test_missing_key_gives_default_but_stored_null_is_none(self):
        self.assertIsNone(self.ctx.get_state("nope"))
        self.assertEqual(self.ctx.get_state("nope2", 7), 7)
        self.ctx.set_state("null", None)
        self.assertIsNone(self.ctx.get_state("null", 7))

    def test_sessions_are_separate(self):
        self.ctx.set_state("k", 1)
        self.assertEqual(SessionContext("s2").get_state("k", "none"), "none")

    def test_returned_values_are_copies(self):
        self.ctx.set_state("k", {"a": [1]})
        self.ctx.get_state("k")["a"].append(2)
        self.assertEqual(self.ctx.get_state("k"), {"a": [1]})

    def test_unknown_session(self):
        ctx = SessionContext("no-such-session")
        for call in (lambda: ctx.get_state("k"), lambda: ctx.set_state("k", 1),
                     lambda: ctx.delete_state("k"), lambda: ctx.call_host_tool("add", a=1, b=1)):
            with self.assertRaises(SessionNotFoundError) as caught:
                call()
            err = caught.exception
            self.assertIsInstance(err, KeyError)
            self.assertIsInstance(err, HostError)
            self.assertEqual(err.code, "SESSION_NOT_FOUND")
            self.assertEqual(str(err), "session 'no-such-session' not found")
            self.assertEqual(err.details["session_id"], "no-such-session")

    def test_bad_keys_and_values_are_refused_before_sending(self):
        for key in ("", 3, None):
            with self.subTest(key=key), self.assertRaises(ValueError):
                self.ctx.set_state(key, 1)
        with self.assertRaises(ValueError):
            self.ctx.get_state("")
        for value in (float("nan"), object(), {"deep": [complex(1, 2)]}):
            with self.subTest(value=value), self.assertRaisesRegex(TypeError, "cannot be sent"):
                self.ctx.set_state("k", value)
        self.assertEqual(host.calls, [])


class CacheTest(HostTestCase):
    """State reads are cached in the SessionContext, i.e. within one tool call only."""

    def test_reads_within_a_call_are_cached_for_the_ttl(self):
        host.sessions["s1"]["k"] = b"1"
        self.assertEqual(self.ctx.get_state("k"), 1)
        host.sessions["s1"]["k"] = b"2"  # changed behind our back
        self.clock.now += 0.9
        self.assertEqual(self.ctx.get_state("k"), 1)
        self.assertEqual(host.count("get_state"), 1)
        self.clock.now += 0.2
        self.assertEqual(self.ctx.get_state("k"), 2)
        self.assertEqual(host.count("get_state"), 2)

    def test_a_new_context_reads_from_the_host(self):
        host.sessions["s1"]["k"] = b"1"
        self.assertEqual(self.ctx.get_state("k"), 1)
        host.sessions["s1"]["k"] = b"2"  # e.g. SessionService.setState on the host
        self.assertEqual(SessionContext("s1").get_state("k"), 2)
        del host.sessions["s1"]["k"]  # e.g. SessionService.deleteState
        self.assertEqual(SessionContext("s1").get_state("k", "gone"), "gone")
        host.sessions.pop("s1")  # the session expired
        with self.assertRaises(SessionNotFoundError):
            SessionContext("s1").get_state("k")
        self.assertEqual(host.count("get_state"), 4)

    def test_no_process_wide_state_cache(self):
        from snakepit_bridge._host_client import get_client

        self.assertFalse(hasattr(get_client(), "state_cache"))
        self.ctx.set_state("k", 1)
        other = SessionContext("s1")
        host.sessions["s1"]["k"] = b"5"
        self.assertEqual(other.get_state("k"), 5)  # not this context's write
        self.assertEqual(self.ctx.get_state("k"), 1)  # its own write, cached

    def test_missing_keys_are_cached_too(self):
        self.assertIsNone(self.ctx.get_state("k"))
        self.assertIsNone(self.ctx.get_state("k"))
        self.assertEqual(host.count("get_state"), 1)

    def test_writes_go_through_and_update_the_cache(self):
        self.ctx.get_state("k")
        self.ctx.set_state("k", [1])
        self.assertEqual(self.ctx.get_state("k"), [1])
        self.assertEqual((host.count("set_state"), host.count("get_state")), (1, 1))
        self.ctx.set_state("k", [2])
        self.assertEqual(self.ctx.get_state("k"), [2])
        self.assertEqual((host.count("set_state"), host.count("get_state")), (2, 1))

    def test_delete_drops_the_entry(self):
        self.ctx.set_state("k", 1)
        self.ctx.delete_state("k")
        self.assertIsNone(self.ctx.get_state("k"))
        self.assertEqual(host.count("get_state"), 1)

    def test_failed_write_drops_the_entry(self):
        self.ctx.set_state("k", 1)
        host.sessions.pop("s1")
        with self.assertRaises(SessionNotFoundError):
            self.ctx.set_state("k", 2)
        with self.assertRaises(SessionNotFoundError):
            self.ctx.get_state("k")


class NoCacheTest(HostTestCase):
    ttl_ms = "0"

    def test_ttl_zero_disables_the_cache(self):
        self.ctx.set_state("k", 1)
        for _ in range(3):
            self.assertEqual(self.ctx.get_state("k"), 1)
        self.assertEqual(host.count("get_state"), 3)


class HostToolTest(HostTestCase):
    def test_json_result(self):
        self.assertEqual(self.ctx.call_host_tool("add", a=2, b=40), 42)
        self.assertEqual(self.ctx.call_elixir_tool("add", a="x", b="y"), "xy")

    def test_bytes_result(self):
        self.assertEqual(self.ctx.call_host_tool("blob", n=3), b"\x00\x01\x02")

    def test_request_carries_session_worker_and_args(self):
        reply = self.ctx.call_host_tool("echo", name="n", nested={"x": [1]})
        self.assertEqual(reply, {"args": {"name": "n", "nested": {"x": [1]}},
                                 "session_id": "s1", "worker_id": "w-test"})

    def test_bad_arguments_are_refused_before_sending(self):
        with self.assertRaisesRegex(TypeError, r"host tool 'echo': args\.x\[0\] is a value of type 'object', which cannot be sent"):
            self.ctx.call_host_tool("echo", x=[object()])
        with self.assertRaises(ValueError):
            self.ctx.call_host_tool("")
        self.assertEqual(host.calls, [])

    def test_error_mapping(self):
        cases = [
            ("invalid", HostToolValidationError, ValueError, "INVALID_ARGUMENTS",
             "a must be a number"),
            ("missing", HostToolNotFoundError, LookupError, "HOST_TOOL_NOT_FOUND",
             "no host tool named 'missing'"),
            ("boom", HostToolError, HostError, "TOOL_FAILED", "the host tool blew up"),
        ]
        for name, cls, base, code, message in cases:
            with self.subTest(name=name):
                with self.assertRaises(cls) as caught:
                    self.ctx.call_host_tool(name, a="x")
                err = caught.exception
                self.assertIs(type(err), cls)
                self.assertIsInstance(err, base)
                self.assertIsInstance(err, HostToolError)
                self.assertEqual((err.code, str(err), err.message), (code, message, message))
                self.assertEqual(err.details["code"], code)
        self.assertNotIsInstance(caught.exception, ValueError)  # a plain HostToolError
        self.assertEqual(caught.exception.error_type, "Error")

    def test_errors_pickle(self):
        err = SessionNotFoundError("gone", "SESSION_NOT_FOUND", {"session_id": "x"})
        copy = pickle.loads(pickle.dumps(err))
        self.assertEqual((type(copy), copy.code, str(copy), copy.details),
                         (SessionNotFoundError, "SESSION_NOT_FOUND", "gone", {"session_id": "x"}))

    def test_host_tools_listing_is_cached(self):
        tools = self.ctx.host_tools
        self.assertEqual([t["name"] for t in tools], ["add", "echo"])
        self.assertEqual(tools[0], {"name": "add", "description": "a + b", "parameters": {
            "type": "object", "properties": {"a": {}, "b": {}}}})
        self.assertEqual(tools[1]["parameters"], {})
        tools[0]["name"] = "mutated"
        self.assertEqual(self.ctx.host_tools[0]["name"], "add")
        self.assertEqual(host.count("list_tools"), 1)
        self.clock.now += 2
        self.ctx.host_tools
        self.assertEqual(host.count("list_tools"), 2)


class EphemeralTest(HostTestCase):
    def test_state_is_local_and_makes_no_host_calls(self):
        request = type("R", (), {"session_id": "", "request_id": "r9"})()
        ctx = SessionContext.for_request(request)
        self.assertEqual((ctx.session_id, ctx.ephemeral), ("ephemeral-r9", True))
        self.assertEqual(ctx.get_state("k", "d"), "d")
        ctx.delete_state("k")
        value = {"a": [1]}
        ctx.set_state("k", value)
        value["a"].append(2)  # stored as JSON: later changes do not leak in
        self.assertEqual(ctx.get_state("k"), {"a": [1]})
        self.assertIsNone(SessionContext.for_request(request).get_state("k"))
        ctx.delete_state("k")
        self.assertIsNone(ctx.get_state("k"))
        with self.assertRaises(TypeError):
            ctx.set_state("k", {"x": object()})
        with self.assertRaises(ValueError):
            ctx.set_state("", 1)
        self.assertEqual(host.calls, [])

    def test_ephemeral_state_works_without_a_host(self):
        with HostEnv(None, None):
            ctx = SessionContext("ephemeral-x", ephemeral=True)
            ctx.set_state("k", 1)
            self.assertEqual(ctx.get_state("k"), 1)

    def test_host_tools_are_called_without_a_session(self):
        ctx = SessionContext("ephemeral-r1", ephemeral=True)
        self.assertEqual(ctx.call_host_tool("echo")["session_id"], "")


if __name__ == "__main__":
    unittest.main()
