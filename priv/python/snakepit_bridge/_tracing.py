"""W3C trace context between the host and the tools.

The host sends ``traceparent`` (and ``tracestate``) with each call: in the ExecuteRequest on
the channel, in the gRPC metadata of a unary call. The
call's SessionContext keeps them (``session_context.traceparent`` and ``.trace_id``), host-tool
calls made during the call send them back, and when the ``opentelemetry`` package is installed
the tool runs inside the extracted context, so that its own spans join the host's trace (and
host-tool calls then carry the tool's current span instead).
"""
import contextlib
from typing import Any, ContextManager, Iterator, Optional, Sequence, Tuple

TRACE_HEADERS = ("traceparent", "tracestate")

try:  # optional: only when the application installed OpenTelemetry for Python
    from opentelemetry import context as _otel_context
    from opentelemetry import propagate as _otel_propagate
except ImportError:  # pragma: no cover - depends on the environment
    _otel_context = None
    _otel_propagate = None


def incoming(grpc_context: Any, request: Any = None) -> Tuple[Optional[str], Optional[str]]:
    """(traceparent, tracestate) from a call's metadata, or (on the channel, without one) from
    the request's own fields; None where absent."""
    if grpc_context is None:
        if request is None:
            return None, None
        return request.traceparent or None, request.tracestate or None
    found = {}
    for key, value in grpc_context.invocation_metadata() or ():
        if key in TRACE_HEADERS:
            found[key] = value
    return found.get("traceparent"), found.get("tracestate")


def trace_id(traceparent: Optional[str]) -> Optional[str]:
    """The 32-hex trace id of a ``00-<trace>-<span>-<flags>`` header, or None."""
    parts = (traceparent or "").split("-")
    if len(parts) == 4 and len(parts[1]) == 32:
        return parts[1]
    return None


_UNTRACED = contextlib.nullcontext()  # reusable: the common case costs no generator


def continued(traceparent: Optional[str], tracestate: Optional[str]) -> ContextManager[None]:
    """Runs the block in the host's trace context when OpenTelemetry is installed."""
    if _otel_propagate is None or not traceparent:
        return _UNTRACED
    return _attached(traceparent, tracestate)


@contextlib.contextmanager
def _attached(traceparent: str, tracestate: Optional[str]) -> Iterator[None]:
    carrier = {"traceparent": traceparent}
    if tracestate:
        carrier["tracestate"] = tracestate
    token = _otel_context.attach(_otel_propagate.extract(carrier))
    try:
        yield
    finally:
        _otel_context.detach(token)


def enter(traceparent: Optional[str], tracestate: Optional[str]) -> None:
    """Attaches the host's trace context to the current contextvars Context for good: for a
    stream, whose generator runs in a Context of its own that ends with the call."""
    if _otel_propagate is None or not traceparent:
        return
    carrier = {"traceparent": traceparent}
    if tracestate:
        carrier["tracestate"] = tracestate
    _otel_context.attach(_otel_propagate.extract(carrier))


def outgoing(traceparent: Optional[str], tracestate: Optional[str]) -> Sequence[Tuple[str, str]]:
    """Metadata for a call to the host: the tool's current span with OpenTelemetry, else the
    context the call came with."""
    if _otel_propagate is not None:
        carrier: dict = {}
        _otel_propagate.inject(carrier)
        if carrier.get("traceparent"):
            return tuple((k, v) for k, v in carrier.items() if k in TRACE_HEADERS)
    headers = []
    if traceparent:
        headers.append(("traceparent", traceparent))
        if tracestate:
            headers.append(("tracestate", tracestate))
    return tuple(headers)
