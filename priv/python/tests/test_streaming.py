"""ExecuteStream and Cancel: the Worker directly, and a real worker over gRPC."""
import json
import threading
import time
import unittest

from tests import PRIV_PYTHON  # noqa: F401  (sys.path)
from tests.support import value_of, SHOWCASE, WorkerProcess, ensure_stubs, WithMetadata

pb2 = Worker = showcase = None


def setUpModule():
    global pb2, Worker, showcase
    ensure_stubs()
    from snakepit_bridge._dispatch import Worker as _Worker
    from snakepit_bridge._messages import pb2 as _pb2
    from snakepit_showcase import adapter as _showcase

    pb2, Worker, showcase = _pb2, _Worker, _showcase


from snakepit_bridge import BaseAdapter, StreamCancelled, tool  # noqa: E402


def request(tool, request_id="r1", session_id="", **args):
    return pb2.ExecuteRequest(tool=tool, args=pb2.Value(json=json.dumps(args).encode()),
                              request_id=request_id, session_id=session_id)


def parse(raw):
    return pb2.StreamChunk.FromString(raw)


def value(chunk):
    return value_of(chunk.data) if chunk.HasField("data") else None


def token():
    return f"tok-{time.monotonic_ns()}"


class Tools(BaseAdapter):
    def __init__(self):
        self.sent = 0
        self.polls = 0
        self.stream_error = None

    @tool(supports_streaming=True)
    def push(self, n, stream):
        for i in range(n):
            stream.send({"i": i})
            self.sent += 1
        return "done"

    @tool(supports_streaming=True)
    def push_until_cancelled(self, stream):
        try:
            while True:
                stream.send(b"x")
        except StreamCancelled as exc:
            self.stream_error = exc
            raise

    @tool(supports_streaming=True)
    def whoami(self):
        yield self.session_context.session_id
        return self.session_context.ephemeral

    @tool(supports_streaming=True)
    async def awhoami(self):
        yield self.session_context.session_id

    @tool(supports_streaming=True)
    def bad_chunk(self):
        yield 1
        yield object()
        yield 2

    @tool(supports_streaming=True)
    def huge_chunk(self):
        yield b"x" * 10_000

    @tool(supports_streaming=True)
    def returns_generator(self, n):
        return iter_range(n)

    @tool(supports_streaming=True)
    def send_then_fail(self, stream):
        stream.send(1)
        raise KeyError("gone")

    @tool
    def wait_for_cancel(self, seconds=5):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.polls += 1
            if self.session_context.cancelled:
                return {"cancelled": True}
            time.sleep(0.01)
        return {"cancelled": False}


def iter_range(n):
    for i in range(n):
        yield i
    return "end"


class WorkerStreamTest(unittest.TestCase):
    def setUp(self):
        self.tools = Tools()
        self.worker = Worker(self.tools, max_message_bytes=4096)
        self.show = Worker(showcase.ShowcaseAdapter())

    def chunks(self, worker, tool, **args):
        return [parse(c) for c in worker.execute_stream(request(tool, **args))]

    def assert_counted(self, chunks, n, final_value):
        self.assertEqual([value(c) for c in chunks[:-1]], [{"i": i} for i in range(n)])
        self.assertFalse(any(c.final for c in chunks[:-1]))
        self.assertTrue(chunks[-1].final)
        self.assertFalse(chunks[-1].cancelled)
        self.assertEqual(value(chunks[-1]), final_value)
        self.assertEqual(chunks[-1].WhichOneof("payload"), None if final_value is None else "data")

    def test_sync_generator_in_order_with_return_value(self):
        self.assert_counted(self.chunks(self.show, "count", n=5), 5, {"total": 5})

    def test_async_generator(self):
        self.assert_counted(self.chunks(self.show, "count_async", n=5), 5, None)

    def test_stream_send_style(self):
        self.assert_counted(self.chunks(self.show, "count_stream", n=20), 20, {"total": 20})

    def test_empty_stream_is_one_final_chunk(self):
        self.assert_counted(self.chunks(self.show, "count", n=0), 0, {"total": 0})

    def test_generator_returned_by_plain_function(self):
        chunks = self.chunks(self.worker, "returns_generator", n=3)
        self.assertEqual([value(c) for c in chunks], [0, 1, 2, "end"])
        self.assertTrue(chunks[-1].final)

    def test_binary_chunks(self):
        chunks = self.chunks(self.show, "blob_stream", count=3, size=100)
        self.assertEqual([len(value(c)) for c in chunks[:-1]], [100] * 3)
        self.assertTrue(chunks[-1].final)

    def test_progress(self):
        chunks = self.chunks(self.show, "progress", steps=4, delay_ms=1)
        self.assertEqual(value(chunks[-2]), {"step": 4, "of": 4, "percent": 100.0})
        self.assertEqual(len(chunks), 5)

    def test_session_context(self):
        chunks = self.chunks(self.worker, "whoami")
        self.assertEqual([value(c) for c in chunks], ["ephemeral-r1", True])
        chunks = [parse(c) for c in self.worker.execute_stream(request("awhoami", session_id="s9"))]
        self.assertEqual(value(chunks[0]), "s9")

    def test_back_pressure(self):
        stream = self.worker.execute_stream(request("push", n=100))
        self.assertEqual(value(parse(next(stream))), {"i": 0})
        time.sleep(0.3)
        blocked_at = self.tools.sent
        # One chunk taken by the consumer, SEND_QUEUE_SIZE (8) queued; the next send blocks.
        self.assertLessEqual(blocked_at, 10)
        time.sleep(0.2)
        self.assertEqual(self.tools.sent, blocked_at)
        rest = [parse(c) for c in stream]
        self.assertEqual([value(c) for c in rest[:-1]], [{"i": i} for i in range(1, 100)])
        self.assertEqual(value(rest[-1]), "done")
        self.assertTrue(rest[-1].final)
        self.assertEqual(self.tools.sent, 100)

    def test_error_mid_stream(self):
        chunks = self.chunks(self.show, "stream_then_fail", n=3, type="KeyError")
        self.assertEqual([value(c) for c in chunks[:3]], [{"i": 0}, {"i": 1}, {"i": 2}])
        self.assertEqual(len(chunks), 4)
        err = chunks[3].error
        self.assertEqual(err.type, "KeyError")
        self.assertIn("stream_then_fail", err.traceback)
        self.assertEqual(json.loads(err.details_json),
                         {"module": "builtins", "bases": ["LookupError", "Exception"]})
        self.assertFalse(chunks[3].final)

    def test_error_mid_stream_send_style(self):
        chunks = self.chunks(self.worker, "send_then_fail")
        self.assertEqual(value(chunks[0]), 1)
        self.assertEqual(chunks[1].error.type, "KeyError")
        self.assertEqual(len(chunks), 2)

    def test_unserializable_and_oversized_chunks(self):
        chunks = self.chunks(self.worker, "bad_chunk")
        self.assertEqual(value(chunks[0]), 1)
        self.assertEqual(chunks[1].error.type, "ResultNotSerializableError")
        self.assertEqual(len(chunks), 2)
        chunks = self.chunks(self.worker, "huge_chunk")
        self.assertEqual([c.error.type for c in chunks], ["PayloadTooLargeError"])

    def test_kind_mismatch(self):
        chunks = self.chunks(self.show, "ping")
        self.assertEqual(len(chunks), 1)
        self.assertEqual(chunks[0].error.type, "NotAStreamingToolError")
        self.assertIn("execute", chunks[0].error.message)
        reply = pb2.ExecuteReply.FromString(self.show.execute(request("count", n=2)))
        self.assertEqual(reply.error.type, "StreamingToolError")
        self.assertIn("executeStream", reply.error.message)

    def test_unknown_tool(self):
        chunks = self.chunks(self.show, "nope")
        self.assertEqual(len(chunks), 1)
        self.assertEqual(chunks[0].error.type, "UnknownToolError")
        self.assertIn("count", json.loads(chunks[0].error.details_json)["available"])

    def cancel(self, worker, request_id):
        return pb2.CancelReply.FromString(worker.cancel(pb2.CancelRequest(request_id=request_id)))

    def check_cancel(self, tool):
        tok = token()
        stream = self.show.execute_stream(request(tool, "c1", n=1000, delay_ms=5, token=tok))
        self.assertEqual(value(parse(next(stream))), {"i": 0})
        self.assertEqual(value(parse(next(stream))), {"i": 1})
        self.assertTrue(self.cancel(self.show, "c1").found)
        rest = [parse(c) for c in stream]
        self.assertLessEqual(len(rest), 1 + 9)  # chunks already queued (send style)
        self.assertTrue(rest[-1].final)
        self.assertTrue(rest[-1].cancelled)
        self.assertIn(tok, showcase.FINALIZED)
        self.assertFalse(self.cancel(self.show, "c1").found)  # no longer running
        self.assertEqual(self.show.in_flight, 0)

    def test_cancel_sync_generator(self):
        self.check_cancel("count")

    def test_cancel_async_generator(self):
        self.check_cancel("count_async")

    def test_cancel_send_style(self):
        self.check_cancel("count_stream")

    def test_cancel_blocked_sender(self):
        stream = self.worker.execute_stream(request("push_until_cancelled", "c2"))
        next(stream)
        time.sleep(0.1)  # the producer is now blocked on a full queue
        self.assertTrue(self.cancel(self.worker, "c2").found)
        last = [parse(c) for c in stream][-1]
        self.assertTrue(last.final and last.cancelled)
        self.assertIsInstance(self.tools.stream_error, StreamCancelled)

    def test_cancel_that_overtakes_the_stream_still_stops_it(self):
        tok = "early-cancel"
        self.assertFalse(self.cancel(self.show, "c-early").found)  # the stream has not started yet
        stream = self.show.execute_stream(request("count", "c-early", n=1000, delay_ms=5, token=tok))
        chunks = [parse(c) for c in stream]
        # Stopped before its first item: the generator's body never ran, so there is no finally.
        self.assertEqual(len(chunks), 1)
        self.assertTrue(chunks[0].final and chunks[0].cancelled)
        self.assertNotIn(tok, showcase.FINALIZED)

    def test_early_cancels_are_bounded_and_expire(self):
        from unittest import mock

        from snakepit_bridge import _dispatch

        for i in range(_dispatch.MAX_EARLY_CANCELS * 4):  # a flood of cancels for calls that never come
            self.assertFalse(self.cancel(self.show, f"never-{i}").found)
        self.assertLessEqual(len(self.show._early_cancels), _dispatch.MAX_EARLY_CANCELS)
        self.assertNotIn("never-0", self.show._early_cancels)  # the oldest went first
        # A Cancel older than its TTL no longer stops the call it named.
        self.cancel(self.show, "c-late")
        later = time.monotonic() + _dispatch.EARLY_CANCEL_TTL_S + 1
        with mock.patch.object(_dispatch.time, "monotonic", return_value=later):
            chunks = [parse(c) for c in self.show.execute_stream(request("count", "c-late", n=3))]
        self.assertEqual([value(c) for c in chunks[:3]], [{"i": 0}, {"i": 1}, {"i": 2}])
        self.assertFalse(chunks[-1].cancelled)

    def test_cancel_interrupts_an_async_generator_blocked_in_an_await(self):
        tok = "agen-blocked"
        stream = self.show.execute_stream(request("count_async", "c-agen", n=10, delay_ms=30_000, token=tok))
        out = {}
        thread = threading.Thread(target=lambda: out.update(chunks=[parse(c) for c in stream]))
        thread.start()
        time.sleep(0.3)  # now waiting inside asyncio.sleep(30)
        started = time.monotonic()
        self.assertTrue(self.cancel(self.show, "c-agen").found)
        thread.join(5)
        self.assertFalse(thread.is_alive())
        self.assertLess(time.monotonic() - started, 2)
        self.assertTrue(out["chunks"][-1].final and out["chunks"][-1].cancelled)
        self.assertIn(tok, showcase.FINALIZED)

    def test_cancel_unknown_id(self):
        self.assertFalse(self.cancel(self.show, "never-ran").found)
        self.assertFalse(self.cancel(self.show, "").found)

    def test_cancel_plain_execute_sets_cancelled(self):
        out = {}
        thread = threading.Thread(target=lambda: out.update(
            reply=self.worker.execute(request("wait_for_cancel", "e1"))))
        thread.start()
        deadline = time.monotonic() + 5
        while self.tools.polls == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertTrue(self.cancel(self.worker, "e1").found)
        thread.join(5)
        reply = pb2.ExecuteReply.FromString(out["reply"])
        self.assertEqual(json.loads(reply.result.json), {"cancelled": True})
        self.assertFalse(self.cancel(self.worker, "e1").found)

    def test_closing_the_stream_closes_the_generator(self):
        for tool in ("count", "count_async", "count_stream"):
            tok = token()
            stream = self.show.execute_stream(request(tool, n=1000, delay_ms=5, token=tok))
            next(stream)
            stream.close()  # what gRPC's dropping of the iterator amounts to
            self.assertIn(tok, showcase.FINALIZED, tool)
            self.assertEqual(self.show.in_flight, 0)


class ServerStreamTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.worker = WorkerProcess(SHOWCASE)
        if cls.worker.event.get("event") != "ready":
            cls.worker.close()
            raise AssertionError(f"worker did not start: {cls.worker.event}")
        channel = cls.worker.channel()
        cls.stream = WithMetadata(channel.unary_stream(
            "/snakepit.bridge.Worker/ExecuteStream",
            request_serializer=pb2.ExecuteRequest.SerializeToString,
            response_deserializer=pb2.StreamChunk.FromString,
        ), cls.worker.metadata)
        cls.cancel_rpc = cls.worker.stub("Cancel")
        cls.execute = cls.worker.stub("Execute")

    @classmethod
    def tearDownClass(cls):
        cls.worker.close()

    def finalized(self, tok):
        return json.loads(self.execute(request("finalized", token=tok), timeout=10).result.json)

    def test_stream_over_grpc(self):
        chunks = list(self.stream(request("count", n=4), timeout=10))
        self.assertEqual([value(c) for c in chunks], [{"i": 0}, {"i": 1}, {"i": 2}, {"i": 3},
                                                       {"total": 4}])
        self.assertTrue(chunks[-1].final)

    def test_error_chunk_over_grpc(self):
        chunks = list(self.stream(request("stream_then_fail", n=2), timeout=10))
        self.assertEqual(len(chunks), 3)
        self.assertEqual(chunks[2].error.type, "ValueError")

    def test_cancel_rpc(self):
        tok = token()
        call = self.stream(request("count", "srv-c1", n=1000, delay_ms=10, token=tok), timeout=10)
        next(call)
        next(call)
        self.assertTrue(self.cancel_rpc(pb2.CancelRequest(request_id="srv-c1"), timeout=5).found)
        rest = list(call)
        self.assertTrue(rest[-1].final and rest[-1].cancelled)
        self.assertTrue(self.finalized(tok))
        self.assertFalse(self.cancel_rpc(pb2.CancelRequest(request_id="srv-c1"), timeout=5).found)
        self.assertFalse(self.cancel_rpc(pb2.CancelRequest(request_id="nope"), timeout=5).found)

    def test_client_cancellation_closes_the_generator(self):
        for tool in ("count", "count_async", "count_stream"):
            tok = token()
            call = self.stream(request(tool, n=100000, delay_ms=20, token=tok), timeout=30)
            next(call)
            next(call)
            call.cancel()
            deadline = time.monotonic() + 1.5
            while not self.finalized(tok) and time.monotonic() < deadline:
                time.sleep(0.02)
            self.assertTrue(self.finalized(tok), tool)
        ping = self.worker.stub("Ping")
        deadline = time.monotonic() + 1
        while ping(pb2.PingRequest(), timeout=5).in_flight and time.monotonic() < deadline:
            time.sleep(0.02)  # the tool's `finally` ran; the stream's own ends just after
        self.assertEqual(ping(pb2.PingRequest(), timeout=5).in_flight, 0)

    def test_crash_mid_stream(self):
        import grpc

        worker = WorkerProcess(SHOWCASE)
        try:
            channel = worker.channel()
            stream = WithMetadata(channel.unary_stream(
                "/snakepit.bridge.Worker/ExecuteStream",
                request_serializer=pb2.ExecuteRequest.SerializeToString,
                response_deserializer=pb2.StreamChunk.FromString,
            ), worker.metadata)
            got = []
            with self.assertRaises(grpc.RpcError) as caught:
                for chunk in stream(request("stream_then_crash", n=2), timeout=10):
                    got.append(value(chunk))
            self.assertEqual(got, [{"i": 0}, {"i": 1}])
            self.assertEqual(caught.exception.code(), grpc.StatusCode.UNAVAILABLE)
            self.assertEqual(worker.proc.wait(timeout=10), 3)
        finally:
            worker.close()


if __name__ == "__main__":
    unittest.main()
