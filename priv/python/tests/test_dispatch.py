"""The Worker service without a transport: results, errors and limits."""
import json
import threading
import unittest

from tests import PRIV_PYTHON  # noqa: F401  (sys.path)
from tests.support import binary_reply_size, ensure_stubs, value_of

pb2 = Worker = None


def setUpModule():
    global pb2, Worker
    ensure_stubs()
    from snakepit_bridge._dispatch import Worker as _Worker
    from snakepit_bridge._messages import pb2 as _pb2

    pb2, Worker = _pb2, _Worker


from snakepit_bridge import BaseAdapter, tool  # noqa: E402


class CustomError(Exception):
    pass


class Tools(BaseAdapter):
    def __init__(self):
        self.gate = threading.Event()
        self.entered = threading.Event()

    @tool
    def add(self, a, b):
        return a + b

    @tool
    def whole(self, params):
        return {"got": params}

    @tool
    async def aadd(self, a, b):
        return a + b

    @tool
    def fail(self, kind="value"):
        if kind == "key":
            raise KeyError("missing")
        if kind == "custom":
            raise CustomError("custom failure")
        if kind == "json":
            json.loads("{not json")
        if kind == "huge":
            raise ValueError("\u6c49" * 30000)
        if kind == "chained":
            try:
                raise OSError("inner")
            except OSError as exc:
                raise ValueError("outer") from exc
        raise ValueError("bad value")

    @tool
    def give(self, kind):
        return {
            "bytes": b"\x00\xffab",
            "bytearray": bytearray(b"xyz"),
            "memoryview": memoryview(b"0123456789")[2:5],
            "object": object(),
            "nested_object": {"ok": [1, {"bad": object()}]},
            "nan": float("nan"),
            "unicode": {"text": "\u017ca\u017c\u00f3\u0142\u0107 \u2713"},
            "none": None,
            "big": "x" * 5000,
            "big_bytes": b"y" * 5000,
        }[kind]

    @tool
    def cycle(self):
        loop = {"a": []}
        loop["a"].append(loop)
        return loop

    @tool
    def block(self):
        self.entered.set()
        self.gate.wait(5)
        return "done"

    @tool
    def exits(self):
        raise SystemExit(3)


def call(worker, tool_name, args=None, raw=None):
    data = raw if raw is not None else json.dumps(args or {}).encode()
    wire = worker.execute(pb2.ExecuteRequest(tool=tool_name, args=pb2.Value(json=data), request_id="r1"))
    return pb2.ExecuteReply.FromString(wire)


def result_of(reply):
    assert reply.WhichOneof("outcome") == "result", reply
    return value_of(reply.result)


class FramingTest(unittest.TestCase):
    """Hand-framed success replies must equal what protobuf itself serializes."""

    def test_matches_protobuf(self):
        from snakepit_bridge._codec import result_reply

        for size in [0, 1, 126, 127, 128, 300, 16383, 16384, 70000, 2100000]:
            for kind in ["json", "binary"]:
                with self.subTest(size=size, kind=kind):
                    if kind == "json":
                        value = "x" * size
                        expected = pb2.ExecuteReply(result=pb2.Value(json=json.dumps(value).encode()))
                    else:
                        value = b"\x01" * size
                        expected = pb2.ExecuteReply(result=pb2.Value(
                            json=b'{"$snakepit":"bytes","buffer":0}', buffers=[pb2.Buffer(inline=value)], tags=1))
                    self.assertEqual(result_reply("t", value, 1 << 26),
                                     expected.SerializeToString())


class ExecuteTest(unittest.TestCase):
    def setUp(self):
        self.adapter = Tools()
        self.worker = Worker(self.adapter, "tests.x:Tools", max_message_bytes=4096)

    def error_of(self, reply):
        self.assertEqual(reply.WhichOneof("outcome"), "error", reply)
        err = reply.error
        return err, json.loads(err.details_json)

    def test_json_results(self):
        self.assertEqual(result_of(call(self.worker, "add", {"a": 2, "b": 3})), 5)
        self.assertEqual(result_of(call(self.worker, "whole", {"x": [1]})), {"got": {"x": [1]}})
        self.assertEqual(result_of(call(self.worker, "aadd", {"a": 1, "b": 1})), 2)
        self.assertEqual(result_of(call(self.worker, "whole", raw=b"")), {"got": {}})
        self.assertIsNone(result_of(call(self.worker, "give", {"kind": "none"})))

    def test_unicode_json_is_utf8(self):
        reply = call(self.worker, "give", {"kind": "unicode"})
        self.assertEqual(json.loads(reply.result.json.decode("utf-8")),
                         {"text": "\u017ca\u017c\u00f3\u0142\u0107 \u2713"})

    def test_bytes_like_results_are_binary(self):
        for kind, expected in [("bytes", b"\x00\xffab"), ("bytearray", b"xyz"),
                               ("memoryview", b"234")]:
            with self.subTest(kind=kind):
                reply = call(self.worker, "give", {"kind": kind})
                self.assertEqual(value_of(reply.result), expected)

    def test_exception_payload(self):
        err, details = self.error_of(call(self.worker, "fail", {"kind": "value"}))
        self.assertEqual(err.type, "ValueError")
        self.assertEqual(err.message, "bad value")
        self.assertIn("Traceback (most recent call last)", err.traceback)
        self.assertIn('raise ValueError("bad value")', err.traceback)
        self.assertTrue(err.traceback.rstrip().endswith("ValueError: bad value"))
        self.assertEqual(details, {"module": "builtins", "bases": ["Exception"]})

    def test_builtin_bases_travel_with_subclasses(self):
        err, details = self.error_of(call(self.worker, "fail", {"kind": "json"}))
        self.assertEqual(err.type, "JSONDecodeError")
        self.assertEqual(details["module"], "json.decoder")
        self.assertEqual(details["bases"], ["ValueError", "Exception"])

    def test_huge_multibyte_error_is_clipped_to_fit_the_limit(self):
        reply = call(self.worker, "fail", {"kind": "huge"})
        self.assertLessEqual(len(reply.SerializeToString()), 4096)
        err, _ = self.error_of(reply)
        self.assertEqual(err.type, "ValueError")
        self.assertIn("bytes truncated", err.message)
        self.assertLessEqual(len(err.message.encode()), 1024)

    def test_key_error_and_custom_module(self):
        err, _ = self.error_of(call(self.worker, "fail", {"kind": "key"}))
        self.assertEqual((err.type, err.message), ("KeyError", "'missing'"))
        err, details = self.error_of(call(self.worker, "fail", {"kind": "custom"}))
        self.assertEqual((err.type, err.message), ("CustomError", "custom failure"))
        self.assertEqual(details, {"module": __name__, "bases": ["Exception"]})

    def test_chained_traceback_is_complete(self):
        err, _ = self.error_of(call(self.worker, "fail", {"kind": "chained"}))
        self.assertIn("OSError: inner", err.traceback)
        self.assertIn("direct cause", err.traceback)

    def test_bad_arguments_are_tool_errors(self):
        err, _ = self.error_of(call(self.worker, "add", {"a": 1}))
        self.assertEqual(err.type, "TypeError")
        err, _ = self.error_of(call(self.worker, "add", raw=b"[1, 2]"))
        self.assertEqual(err.type, "TypeError")
        self.assertIn("must be an object", err.message)
        err, _ = self.error_of(call(self.worker, "add", raw=b"{not json"))
        self.assertEqual(err.type, "JSONDecodeError")

    def test_system_exit_is_reported_not_raised(self):
        err, _ = self.error_of(call(self.worker, "exits"))
        self.assertEqual(err.type, "SystemExit")

    def test_unknown_tool(self):
        err, details = self.error_of(call(self.worker, "nope"))
        self.assertEqual(err.type, "UnknownToolError")
        self.assertIn("'nope'", err.message)
        self.assertIn("aadd, add, block", err.message)
        self.assertEqual(err.traceback, "")
        self.assertEqual(details["available"], sorted(self.adapter.tool_index()))

    def test_unserializable_result(self):
        for kind, path in [("object", "result"), ("nested_object", "result.ok[1].bad")]:
            with self.subTest(kind=kind):
                err, details = self.error_of(call(self.worker, "give", {"kind": kind}))
                self.assertEqual(err.type, "ResultNotSerializableError")
                self.assertIn("'give'", err.message)
                self.assertIn(f"{path} is a value of type 'object'", err.message)
                self.assertEqual(details, {"type": "object", "path": path})

    def test_nan_and_cycles_are_not_json(self):
        err, _ = self.error_of(call(self.worker, "give", {"kind": "nan"}))
        self.assertEqual(err.type, "ResultNotSerializableError")
        err, _ = self.error_of(call(self.worker, "cycle"))
        self.assertEqual(err.type, "ResultNotSerializableError")

    def test_payload_too_large(self):
        for kind in ["big", "big_bytes"]:
            with self.subTest(kind=kind):
                err, details = self.error_of(call(self.worker, "give", {"kind": kind}))
                self.assertEqual(err.type, "PayloadTooLargeError")
                self.assertIn(str(details["size"]), err.message)
                self.assertIn("4096", err.message)
                self.assertEqual(details["limit"], 4096)
                self.assertGreater(details["size"], 4096)

    def test_limit_is_the_serialized_reply_size(self):
        size = binary_reply_size(5000)
        worker = Worker(self.adapter, max_message_bytes=size)
        self.assertEqual(len(worker.execute(pb2.ExecuteRequest(
            tool="give", args=pb2.Value(json=b'{"kind":"big_bytes"}')))), size)
        worker.max_message_bytes = size - 1
        self.assertEqual(call(worker, "give", {"kind": "big_bytes"}).error.type,
                         "PayloadTooLargeError")

    def test_ping_counts_in_flight_calls(self):
        self.assertEqual(pb2.PingReply.FromString(self.worker.ping()).in_flight, 0)
        thread = threading.Thread(target=call, args=(self.worker, "block"))
        thread.start()
        try:
            self.assertTrue(self.adapter.entered.wait(5))
            reply = pb2.PingReply.FromString(self.worker.ping())
            self.assertEqual(reply.in_flight, 1)
            self.assertGreater(reply.pid, 0)
        finally:
            self.adapter.gate.set()
            thread.join(5)
        self.assertEqual(pb2.PingReply.FromString(self.worker.ping()).in_flight, 0)

    def test_describe(self):
        reply = pb2.DescribeReply.FromString(self.worker.describe())
        self.assertEqual(reply.protocol_version, 3)
        self.assertEqual(reply.adapter, "tests.x:Tools")
        self.assertRegex(reply.python_version, r"^3\.\d+")
        tools = {t.name: t for t in reply.tools}
        self.assertEqual(set(tools), set(self.adapter.tool_index()))
        params = json.loads(tools["add"].parameters_json)
        self.assertEqual([p["name"] for p in params], ["a", "b"])
        self.assertTrue(all(p["required"] for p in params))


if __name__ == "__main__":
    unittest.main()
