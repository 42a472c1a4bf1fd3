"""Where a tiny call's time goes inside a worker, piece by piece, without gRPC.

Times, in a loop on one thread, each step a worker takes for ``add(a=1, b=2)`` on the channel:
parsing the host's HostFrames message, the tool call with its JSON in and out and the reply's
bytes (Worker.execute), and framing the reply. Prints one JSON object of microseconds per call.
What a real call costs beyond these (measured by the benchmark as the worker's CPU time per
call) is grpcio's: its completion queue, its threads handing each message on, HTTP/2.

Run: ``PYTHONPATH=priv/python:bench python3 bench/python_breakdown.py``.
"""
import json
import sys
import time

from snakepit_bridge._channel import REPLY, frame
from snakepit_bridge._dispatch import Worker
from snakepit_bridge._messages import pb2

from bench_adapter import BenchAdapter

ROUNDS = 5
CALLS = 20_000


def per_call_us(step, calls=CALLS):
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(calls):
            step()
        best = min(best, (time.perf_counter() - start) / calls * 1e6)
    return best


def main() -> None:
    worker = Worker(BenchAdapter(), "bench_adapter:BenchAdapter")
    request = pb2.ExecuteRequest(tool="add", args=pb2.Value(json=b'{"a":1,"b":2}'), request_id="0" * 36)
    message = pb2.HostFrames(frames=[pb2.HostFrame(call=1, execute=request)]).SerializeToString()
    reply = worker.execute(request)
    figures = {
        "parse HostFrames": per_call_us(lambda: pb2.HostFrames.FromString(message).frames[0].WhichOneof("body")),
        "run the tool (JSON in and out, reply bytes)": per_call_us(lambda: worker.execute(request)),
        "frame the reply": per_call_us(lambda: b"".join(frame(1, REPLY, reply))),
    }
    json.dump({name: round(us, 2) for name, us in figures.items()}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
