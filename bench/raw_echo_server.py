"""The baseline: a bare grpcio server whose one method returns the request bytes unchanged.

Run as ``python raw_echo_server.py``; prints ``READY <port>`` on stdout once it serves, and
exits when its stdin closes. It does what a Snakepit worker does minus everything Snakepit adds.
"""
import sys
import threading
from concurrent import futures

import grpc


def _stream(request, context):
    count, size = (int(part) for part in request.split(b":"))
    chunk = b"x" * size
    for _ in range(count):
        yield chunk


def main() -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    echo = grpc.unary_unary_rpc_method_handler(lambda request, context: request)
    # Stream: the request is b"<count>:<size>"; the reply is <count> messages of <size> bytes.
    stream = grpc.unary_stream_rpc_method_handler(_stream)
    handlers = {"Echo": echo, "Stream": stream}
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("bench.Echo", handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(f"READY {port}", flush=True)
    threading.Thread(target=lambda: (sys.stdin.read(), server.stop(0)), daemon=True).start()
    server.wait_for_termination()


if __name__ == "__main__":
    main()
