"""Calling conventions: keyword arguments, the ``params`` dict, async tools."""
import asyncio
import functools
import unittest

from tests import PRIV_PYTHON  # noqa: F401  (sys.path)
from snakepit_bridge._invoke import make_invoker, run_coroutine


class Tools:
    def add(self, a, b=10):
        return a + b

    def whole(self, params):
        return params

    def whole_kwonly(self, *, params):
        return params

    def kwargs(self, **kw):
        return kw

    def named_params_plus_more(self, params, other=1):
        return [params, other]

    async def async_add(self, a, b):
        await asyncio.sleep(0)
        return a + b

    async def async_whole(self, params):
        return params

    async def async_fail(self):
        await asyncio.sleep(0)
        raise LookupError("inside coroutine")


def sync_wrapper(fn):
    @functools.wraps(fn)
    def wrapper(*a, **kw):
        return fn(*a, **kw)

    return wrapper


class InvokeTest(unittest.TestCase):
    def setUp(self):
        self.t = Tools()

    def test_keyword_arguments(self):
        self.assertEqual(make_invoker(self.t.add)({"a": 1, "b": 2}), 3)
        self.assertEqual(make_invoker(self.t.add)({"a": 1}), 11)
        self.assertEqual(make_invoker(self.t.kwargs)({"x": 1}), {"x": 1})

    def test_missing_or_extra_argument_is_a_type_error(self):
        with self.assertRaises(TypeError):
            make_invoker(self.t.add)({})
        with self.assertRaises(TypeError):
            make_invoker(self.t.add)({"a": 1, "zzz": 2})

    def test_sole_params_parameter_gets_the_dict(self):
        args = {"a": 1, "nested": {"b": [1, 2]}}
        self.assertIs(make_invoker(self.t.whole)(args), args)
        self.assertIs(make_invoker(self.t.whole_kwonly)(args), args)
        self.assertEqual(make_invoker(self.t.whole)({}), {})

    def test_params_among_others_is_a_keyword(self):
        self.assertEqual(make_invoker(self.t.named_params_plus_more)({"params": 5}), [5, 1])

    def test_async_tools_run_to_completion(self):
        self.assertEqual(make_invoker(self.t.async_add)({"a": 2, "b": 3}), 5)
        self.assertEqual(make_invoker(self.t.async_whole)({"k": 1}), {"k": 1})

    def test_coroutine_returned_by_sync_wrapper_is_awaited(self):
        self.assertEqual(make_invoker(sync_wrapper(self.t.async_add))({"a": 1, "b": 1}), 2)

    def test_async_exception_propagates(self):
        with self.assertRaisesRegex(LookupError, "inside coroutine"):
            make_invoker(self.t.async_fail)({})

    def test_async_tools_share_one_loop(self):
        async def current_loop():
            return asyncio.get_running_loop()

        self.assertIs(run_coroutine(current_loop()), run_coroutine(current_loop()))


if __name__ == "__main__":
    unittest.main()
