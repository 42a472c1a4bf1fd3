"""Every call to a worker must carry its secret; others are refused before their message is read."""
import hmac
from typing import Any, Callable

import grpc

WORKER_SECRET_METADATA = "x-snakepit-worker-secret"


def _refuse(request_iterator: Any, context: Any) -> Any:
    context.abort(grpc.StatusCode.UNAUTHENTICATED, f"missing or wrong {WORKER_SECRET_METADATA}")


# A request-streaming handler reads no message until its behaviour asks, and this one never
# does: a refused caller cannot make the worker take in a large message first.
_REFUSAL = grpc.stream_stream_rpc_method_handler(_refuse)


class WorkerAuthentication(grpc.ServerInterceptor):
    """Lets a call through only when its metadata carries the worker's secret."""

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode("utf-8")

    def intercept_service(self, continuation: Callable[[Any], Any], handler_call_details: Any) -> Any:
        for key, value in handler_call_details.invocation_metadata or ():
            if key == WORKER_SECRET_METADATA:
                given = value.encode("utf-8") if isinstance(value, str) else value
                if hmac.compare_digest(given, self._secret):
                    return continuation(handler_call_details)
                break
        return _REFUSAL
