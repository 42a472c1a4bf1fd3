"""The host's channel (Worker.Channel) of a real worker process: calls, streams with credit,
cancels and pings multiplexed by call number, its message limit, its end, its secret."""
import json
import unittest

from tests import PRIV_PYTHON  # noqa: F401  (sys.path)
from tests.support import value_of, SHOWCASE, WorkerProcess, ensure_stubs, largest_binary_result

pb2 = None
LIMIT = 200_000


def setUpModule():
    global pb2
    ensure_stubs()
    from snakepit_bridge._messages import pb2 as _pb2

    pb2 = _pb2


def request(tool, rid, **args):
    return pb2.ExecuteRequest(tool=tool, args=pb2.Value(json=json.dumps(args).encode()), request_id=rid)


def execute(call, tool, **args):
    return pb2.HostFrame(call=call, execute=request(tool, f"r{call}", **args))


def stream(call, tool, credit, **args):
    return pb2.HostFrame(call=call, stream=pb2.OpenStream(request=request(tool, f"r{call}", **args), credit=credit))


def result(reply_or_chunk):
    return json.loads(reply_or_chunk.result.json if hasattr(reply_or_chunk, "result") else reply_or_chunk.data.json)


def start_worker(*extra):
    worker = WorkerProcess(SHOWCASE, extra=list(extra))
    if worker.event.get("event") != "ready":
        worker.close()
        raise AssertionError(f"worker did not start: {worker.event}")
    return worker


class WorkerChannelCase(unittest.TestCase):
    """One worker per class, started with WORKER_ARGS; a channel of its own per test."""

    WORKER_ARGS: tuple = ()

    @classmethod
    def setUpClass(cls):
        cls.worker = start_worker(*cls.WORKER_ARGS)

    @classmethod
    def tearDownClass(cls):
        cls.worker.close()

    def setUp(self):
        self.channel = self.worker.open_channel()
        self.addCleanup(self.channel.cancel)


class ChannelTest(WorkerChannelCase):
    WORKER_ARGS = ("--max-message-bytes", str(LIMIT), "--concurrent-calls", "4")

    def test_calls_in_one_message_are_answered_by_call_number(self):
        self.channel.send(execute(7, "add", a=1, b=2), execute(8, "add", a=10, b=20), execute(9, "missing"))
        frames = {f.call: f for f in (self.channel.next_frame() for _ in range(3))}
        self.assertEqual(sorted(frames), [7, 8, 9])
        self.assertEqual(result(frames[7].reply), 3)
        self.assertEqual(result(frames[8].reply), 30)
        self.assertEqual(frames[9].reply.error.type, "UnknownToolError")

    def test_a_slow_call_does_not_hold_up_a_quick_one(self):
        self.channel.send(execute(1, "sleep", ms=500), execute(2, "add", a=2, b=2))
        self.assertEqual(self.channel.next_frame().call, 2)
        self.assertEqual(self.channel.next_frame().call, 1)

    def test_a_stream_sends_no_more_chunks_than_its_credit(self):
        self.channel.send(stream(3, "count", 2, n=5))
        chunks = [self.channel.next_frame().chunk for _ in range(2)]
        self.assertEqual([result(c) for c in chunks], [{"i": 0}, {"i": 1}])
        # Out of credit: the pong overtakes the stream's next chunk.
        self.channel.send(pb2.HostFrame(call=4, ping=True))
        pong = self.channel.next_frame()
        self.assertEqual((pong.call, pong.pong.pid), (4, self.worker.proc.pid))
        self.channel.send(pb2.HostFrame(call=3, credit=10))
        rest = [self.channel.next_frame().chunk for _ in range(4)]
        self.assertEqual([result(c) for c in rest[:3]], [{"i": 2}, {"i": 3}, {"i": 4}])
        self.assertTrue(rest[3].final)
        self.assertEqual(result(rest[3]), {"total": 5})

    def test_a_cancelled_stream_ends_cancelled_without_credit(self):
        self.channel.send(stream(5, "count", 1, n=1000))
        self.assertEqual(result(self.channel.next_frame().chunk), {"i": 0})
        self.channel.send(pb2.HostFrame(call=5, cancel=True))
        end = self.channel.next_frame()
        self.assertEqual(end.call, 5)
        self.assertTrue(end.chunk.final and end.chunk.cancelled)

    def test_a_cancel_reaches_a_running_call(self):
        self.channel.send(execute(6, "wait_until_cancelled", max_ms=20_000))
        self.channel.send(pb2.HostFrame(call=6, cancel=True))
        reply = self.channel.next_frame().reply
        self.assertTrue(result(reply)["cancelled"])

    def test_a_reply_of_the_limit_fits_its_frame(self):
        from snakepit_bridge._channel import FRAME_SLACK

        n = largest_binary_result(LIMIT - FRAME_SLACK)
        self.channel.send(execute(1, "bytes_of", n=n), execute(2, "bytes_of", n=n + 1))
        frames = {f.call: f.reply for f in (self.channel.next_frame() for _ in range(2))}
        self.assertEqual(len(value_of(frames[1].result)), n)
        self.assertEqual(frames[2].error.type, "PayloadTooLargeError")

    def test_when_the_host_ends_its_side_running_calls_finish_first(self):
        self.channel.send(execute(1, "sleep", ms=300))
        self.channel.end()
        frames = self.channel.rest()
        self.assertEqual([f.call for f in frames], [1])
        self.assertEqual(result(frames[0].reply)["slept_ms"], 300)


class PrefetchTest(WorkerChannelCase):
    """Calls the host sends ahead to a worker that runs one at a time (prefetchPerWorker)."""

    def ahead(self, call, tool, **args):
        sent = execute(call, tool, **args)
        sent.report_start = True
        return sent

    def test_a_call_sent_ahead_waits_its_turn_and_reports_its_start(self):
        self.channel.send(execute(1, "sleep", ms=200), self.ahead(2, "add", a=1, b=2))
        frames = [self.channel.next_frame() for _ in range(3)]
        self.assertEqual([(f.call, f.WhichOneof("body")) for f in frames], [(1, "reply"), (2, "started"), (2, "reply")])
        self.assertEqual(result(frames[2].reply), 3)

    def test_a_call_cancelled_while_it_waits_is_answered_at_once_and_never_runs(self):
        self.channel.send(execute(1, "sleep", ms=300), self.ahead(2, "set_state", key="k", value=1))
        self.channel.send(pb2.HostFrame(call=2, cancel=True))
        first = self.channel.next_frame()
        self.assertEqual((first.call, first.reply.error.type), (2, "CancelledBeforeStart"))
        self.assertEqual(self.channel.next_frame().call, 1)
        # The one call thread takes call 3 after call 2's turn: had call 2 run, its reply came first.
        self.channel.send(execute(3, "add", a=1, b=1))
        third = self.channel.next_frame()
        self.assertEqual((third.call, result(third.reply)), (3, 2))

    def test_a_stream_cancelled_while_it_waits_ends_cancelled(self):
        opened = stream(2, "count", 5, n=3)
        opened.report_start = True
        self.channel.send(execute(1, "sleep", ms=300), opened, pb2.HostFrame(call=2, cancel=True))
        first = self.channel.next_frame()
        self.assertEqual(first.call, 2)
        self.assertTrue(first.chunk.final and first.chunk.cancelled)
        self.assertEqual(self.channel.next_frame().call, 1)


class ChannelMessagesTest(unittest.TestCase):
    """How frames waiting to go out become messages (no process: the queue alone)."""

    def test_frames_waiting_together_share_a_message_up_to_the_limit(self):
        from snakepit_bridge._channel import REPLY, Channel

        reply = pb2.ExecuteReply(result=pb2.Value(json=b"1")).SerializeToString()
        big = pb2.ExecuteReply(result=pb2.Value(json=b"1", buffers=[pb2.Buffer(inline=b"y" * 70)])).SerializeToString()
        channel = Channel(worker=None, executor=None, limit=100)
        for call in (1, 2, 3):
            channel._send(call, REPLY, reply)
        channel._send(9, REPLY, big)  # does not fit beside the others
        channel._send(10, REPLY, reply)
        channel.drain()  # nothing runs: the channel closes after what waits
        messages = [pb2.WorkerFrames.FromString(m) for m in channel._messages()]
        self.assertEqual([[f.call for f in m.frames] for m in messages], [[1, 2, 3], [9, 10]])
        self.assertTrue(all(len(m.SerializeToString()) <= 100 for m in messages))
        self.assertEqual(messages[1].frames[0].reply.result.buffers[0].inline, b"y" * 70)


    def test_a_call_that_comes_once_the_channel_drains_is_refused_not_run(self):
        from snakepit_bridge._channel import Channel

        channel = Channel(worker=None, executor=None, limit=1000)  # neither may be touched
        channel.drain()
        channel._take(execute(4, "add", a=1, b=2))
        channel._take(stream(5, "count", 1, n=1))
        frames = [f for m in channel._messages() for f in pb2.WorkerFrames.FromString(m).frames]
        self.assertEqual(frames, [])  # the close came first: nothing more goes out
        waiting = []
        while not channel._out.empty():
            waiting.append(channel._out.get_nowait())
        refusals = [pb2.WorkerFrames.FromString(b"".join(part[:2])).frames[0] for part in waiting if part]
        self.assertEqual([f.call for f in refusals], [4, 5])
        self.assertEqual(refusals[0].reply.error.type, "WorkerStoppingError")
        self.assertEqual(refusals[1].chunk.error.type, "WorkerStoppingError")


class ChannelSecretTest(unittest.TestCase):
    def test_a_channel_without_the_secret_is_refused(self):
        import grpc

        worker = start_worker()
        self.addCleanup(worker.close)
        for secret in ("", "0" * 64):
            channel = worker.open_channel(secret=secret)
            channel.send(execute(1, "add", a=1, b=2))
            with self.assertRaises(grpc.RpcError) as refused:
                channel.next_frame()
            self.assertEqual(refused.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        channel = worker.open_channel()
        channel.send(execute(1, "add", a=1, b=2))
        self.assertEqual(result(channel.next_frame().reply), 3)
        channel.cancel()


if __name__ == "__main__":
    unittest.main()
