"""@tool in both forms, tool discovery and describe_tools()."""
import unittest
from typing import List, Optional

from tests import PRIV_PYTHON  # noqa: F401  (sys.path)
from snakepit_bridge import PROTOCOL_VERSION, BaseAdapter, __version__, tool
from snakepit_bridge._decorators import tool_spec


class Sample(BaseAdapter):
    @tool
    def plain(self, a: int, b: "List[int]", c: Optional[str] = None, *rest, flag=False, **extra):
        """First line of the docs.

        More text that is not the description.
        """

    @tool(description="Custom text", supports_streaming=True, name="renamed")
    def original(self):
        """Ignored docstring."""

    @tool()
    def empty_call(self, params):
        pass

    @tool
    async def coro(self, x):
        return x

    @tool
    @staticmethod
    def static_tool(y: int) -> int:
        return y

    def not_a_tool(self):
        pass


class Child(Sample):
    @tool
    def extra(self):
        pass

    def plain(self, a, b):  # overridden without @tool: no longer a tool
        pass


class ToolDecoratorTest(unittest.TestCase):
    def test_package_exports(self):
        self.assertEqual(PROTOCOL_VERSION, 3)
        self.assertIsInstance(__version__, str)

    def test_bare_form_uses_method_name_and_first_doc_line(self):
        spec = tool_spec(Sample.plain)
        self.assertIsNone(spec.name)
        self.assertEqual(spec.description, "First line of the docs.")
        self.assertFalse(spec.supports_streaming)

    def test_called_form_with_options(self):
        spec = tool_spec(Sample.original)
        self.assertEqual(spec.name, "renamed")
        self.assertEqual(spec.description, "Custom text")
        self.assertTrue(spec.supports_streaming)

    def test_called_form_without_options_and_no_docstring(self):
        self.assertEqual(tool_spec(Sample.empty_call).description, "")

    def test_decorator_returns_the_function_itself(self):
        def f(self):
            pass

        self.assertIs(tool(f), f)
        self.assertIs(tool(name="x")(f), f)

    def test_bad_usage(self):
        with self.assertRaises(TypeError):
            tool("not callable")
        with self.assertRaises(ValueError):
            tool(name="")


class DiscoveryTest(unittest.TestCase):
    def test_discovers_marked_methods_only(self):
        self.assertEqual(
            sorted(Sample.tool_index()),
            ["coro", "empty_call", "plain", "renamed", "static_tool"],
        )
        self.assertEqual(Sample.tool_index()["renamed"][0], "original")

    def test_subclass_inherits_and_unmarked_override_removes(self):
        self.assertEqual(
            sorted(Child.tool_index()),
            ["coro", "empty_call", "extra", "renamed", "static_tool"],
        )

    def test_tools_are_bound(self):
        adapter = Sample()
        self.assertEqual(adapter.tools()["static_tool"](3), 3)
        self.assertEqual(adapter.tools()["plain"].__self__, adapter)

    def test_duplicate_names_rejected(self):
        class Dup(BaseAdapter):
            @tool(name="same")
            def one(self):
                pass

            @tool(name="same")
            def two(self):
                pass

        with self.assertRaisesRegex(TypeError, "same"):
            Dup.tool_index()

    def test_base_adapter_has_no_tools_and_hooks_are_optional(self):
        adapter = BaseAdapter()
        self.assertEqual(adapter.tools(), {})
        self.assertIsNone(adapter.on_start())
        self.assertIsNone(adapter.on_stop())


class DescribeTest(unittest.TestCase):
    def setUp(self):
        self.described = {t["name"]: t for t in Sample().describe_tools()}

    def test_sorted_and_complete(self):
        tools = Sample().describe_tools()
        self.assertEqual([t["name"] for t in tools], sorted(t["name"] for t in tools))
        renamed = dict(self.described["renamed"])
        schemas = renamed.pop("schemas")
        self.assertEqual(
            renamed,
            {"name": "renamed", "description": "Custom text", "supports_streaming": True,
             "parameters": []},
        )
        self.assertEqual(sorted(schemas), ["arguments", "chunk", "description", "result"])
        self.assertEqual(schemas["description"], "Custom text")  # the tool's, not the docstring's
        self.assertEqual(schemas["arguments"]["properties"], {})

    def test_schemas_from_hints(self):
        arguments = self.described["plain"]["schemas"]["arguments"]
        self.assertEqual(arguments["properties"]["a"], {"type": "integer"})
        self.assertIn("a", arguments["required"])

    def test_parameters_from_signature(self):
        params = self.described["plain"]["parameters"]
        self.assertEqual(
            params,
            [
                {"name": "a", "kind": "POSITIONAL_OR_KEYWORD", "required": True,
                 "annotation": "int"},
                {"name": "b", "kind": "POSITIONAL_OR_KEYWORD", "required": True,
                 "annotation": "List[int]"},
                {"name": "c", "kind": "POSITIONAL_OR_KEYWORD", "required": False,
                 "annotation": "Optional[str]"},
                {"name": "rest", "kind": "VAR_POSITIONAL", "required": False,
                 "annotation": None},
                {"name": "flag", "kind": "KEYWORD_ONLY", "required": False,
                 "annotation": None},
                {"name": "extra", "kind": "VAR_KEYWORD", "required": False,
                 "annotation": None},
            ],
        )

    def test_static_tool_has_no_self(self):
        self.assertEqual([p["name"] for p in self.described["static_tool"]["parameters"]], ["y"])


if __name__ == "__main__":
    unittest.main()
