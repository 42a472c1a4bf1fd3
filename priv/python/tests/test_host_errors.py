"""How transport failures of Host calls become exceptions."""
import unittest

from tests import PRIV_PYTHON  # noqa: F401  (sys.path)
from snakepit_bridge import (
    HostPayloadTooLargeError,
    HostTimeoutError,
    HostUnavailableError,
)
from snakepit_bridge._host_errors import unavailable_from_rpc


class _Status:
    def __init__(self, name):
        self.name = name


class _RpcError(Exception):
    def __init__(self, status, details):
        super().__init__(details)
        self._status, self._details = _Status(status), details

    def code(self):
        return self._status

    def details(self):
        return self._details


class TransportErrorTest(unittest.TestCase):
    def test_deadline_is_a_timeout(self):
        err = unavailable_from_rpc(_RpcError("DEADLINE_EXCEEDED", "Deadline Exceeded"), "CallTool", "127.0.0.1:1")
        self.assertIsInstance(err, HostTimeoutError)
        self.assertIsInstance(err, TimeoutError)
        self.assertEqual(err.code, "DEADLINE_EXCEEDED")
        self.assertIn("CallTool", str(err))

    def test_oversized_message_says_so(self):
        err = unavailable_from_rpc(_RpcError("RESOURCE_EXHAUSTED", "Received message larger than max"), "CallTool", "x")
        self.assertIsInstance(err, HostPayloadTooLargeError)
        self.assertIn("maxMessageBytes", str(err))

    def test_refused_secret_and_other_failures_are_unavailable(self):
        refused = unavailable_from_rpc(_RpcError("UNAUTHENTICATED", "no"), "GetState", "x")
        self.assertIsInstance(refused, HostUnavailableError)
        self.assertIn("SNAKEPIT_HOST_SECRET", str(refused))
        down = unavailable_from_rpc(_RpcError("UNAVAILABLE", "connection refused"), "GetState", "x")
        self.assertIsInstance(down, HostUnavailableError)
        self.assertNotIsInstance(down, HostTimeoutError)


if __name__ == "__main__":
    unittest.main()
