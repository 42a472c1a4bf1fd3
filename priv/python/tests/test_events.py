"""BaseAdapter.emit: checked input, and never an exception from the transport."""
import unittest
from unittest import mock

from tests import PRIV_PYTHON  # noqa: F401  (sys.path)
from snakepit_bridge import BaseAdapter
from snakepit_bridge import _host_client as host_client


class EmitTest(unittest.TestCase):
    def setUp(self):
        host_client.reset_client()

    def tearDown(self):
        host_client.reset_client()

    def test_refuses_bad_names_and_values(self):
        adapter = BaseAdapter()
        for name in ("", "has space", "new\nline", "x" * 129, 5):
            with self.assertRaises(ValueError, msg=repr(name)):
                adapter.emit(name)
        with self.assertRaises(TypeError):
            adapter.emit("ok", [1, 2])

    def test_without_a_host_it_does_nothing_and_raises_nothing(self):
        with mock.patch.object(host_client._process, "host_env", {}):  # no address, no secret
            BaseAdapter().emit("model.loaded", {"ms": 1})


if __name__ == "__main__":
    unittest.main()
