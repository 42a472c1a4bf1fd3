"""W3C trace context between host, tools and host tools (snakepit_bridge._tracing)."""
import importlib
import sys
import types
import unittest

from tests import PRIV_PYTHON  # noqa: F401  (sys.path)
from snakepit_bridge import _tracing as tracing

PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


class _GrpcContext:
    def __init__(self, metadata):
        self._metadata = metadata

    def invocation_metadata(self):
        return self._metadata


class WithoutOpenTelemetryTest(unittest.TestCase):
    def test_reads_the_headers_of_a_call(self):
        context = _GrpcContext((("x-other", "1"), ("traceparent", PARENT), ("tracestate", "k=v")))
        self.assertEqual(tracing.incoming(context), (PARENT, "k=v"))
        self.assertEqual(tracing.incoming(_GrpcContext(())), (None, None))
        self.assertEqual(tracing.incoming(None), (None, None))

    def test_trace_id(self):
        self.assertEqual(tracing.trace_id(PARENT), "0af7651916cd43dd8448eb211c80319c")
        self.assertIsNone(tracing.trace_id("garbage"))
        self.assertIsNone(tracing.trace_id(None))

    @unittest.skipIf(tracing._otel_propagate is not None, "opentelemetry is installed here")
    def test_sends_back_the_context_it_came_with(self):
        self.assertEqual(tracing.outgoing(PARENT, "k=v"), (("traceparent", PARENT), ("tracestate", "k=v")))
        self.assertEqual(tracing.outgoing(None, None), ())
        with tracing.continued(PARENT, None):  # nothing to attach to
            pass


class _FakeOpenTelemetry:
    """Just what tracing.py uses of opentelemetry.context and opentelemetry.propagate."""

    def __init__(self):
        self.current = None
        self.attached = []

    def attach(self, ctx):
        self.attached.append(ctx)
        self.current = ctx.get("traceparent")
        return len(self.attached)

    def detach(self, token):
        self.current = None

    def extract(self, carrier):
        return dict(carrier)

    def inject(self, carrier):
        if self.current:
            carrier["traceparent"] = self.current


class WithOpenTelemetryTest(unittest.TestCase):
    """The glue alone, against a stand-in for the opentelemetry package (not installed here)."""

    def setUp(self):
        self.fake = _FakeOpenTelemetry()
        otel = types.ModuleType("opentelemetry")
        otel.context = types.SimpleNamespace(attach=self.fake.attach, detach=self.fake.detach)
        otel.propagate = types.SimpleNamespace(extract=self.fake.extract, inject=self.fake.inject)
        self.saved = sys.modules.get("opentelemetry")
        sys.modules["opentelemetry"] = otel
        self.module = importlib.reload(tracing)

    def tearDown(self):
        if self.saved is None:
            sys.modules.pop("opentelemetry", None)
        else:
            sys.modules["opentelemetry"] = self.saved
        importlib.reload(tracing)

    def test_runs_the_tool_in_the_extracted_context_and_injects_the_current_one(self):
        child = "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01"
        with self.module.continued(PARENT, "k=v"):
            self.assertEqual(self.fake.attached, [{"traceparent": PARENT, "tracestate": "k=v"}])
            self.assertEqual(self.module.outgoing(child, None), (("traceparent", PARENT),))
        # Outside any context the tool's own headers go back.
        self.assertEqual(self.module.outgoing(child, None), (("traceparent", child),))


if __name__ == "__main__":
    unittest.main()
