"""Adapter paths: module:Class and module.Class, and the ways they go wrong."""
import unittest

from tests import PRIV_PYTHON  # noqa: F401  (sys.path)
from snakepit_bridge._loader import load_adapter, load_adapter_class, parse_adapter_spec
from tests import sample_adapters


class ParseTest(unittest.TestCase):
    def test_colon_form(self):
        self.assertEqual(parse_adapter_spec("pkg.mod:Cls"), ("pkg.mod", "Cls"))
        self.assertEqual(parse_adapter_spec("mod:Outer.Inner"), ("mod", "Outer.Inner"))

    def test_dotted_form_splits_on_last_dot(self):
        self.assertEqual(parse_adapter_spec("pkg.mod.Cls"), ("pkg.mod", "Cls"))
        self.assertEqual(parse_adapter_spec(" mod.Cls "), ("mod", "Cls"))

    def test_invalid(self):
        for spec in ["", "Cls", "mod:", ":Cls", "mod.", "a b:C", "mod:C:D", "mod..C"]:
            with self.subTest(spec=spec), self.assertRaisesRegex(ValueError, "invalid adapter"):
                parse_adapter_spec(spec)


class LoadTest(unittest.TestCase):
    def test_both_forms_load_the_same_class(self):
        self.assertIs(load_adapter_class("tests.sample_adapters:Good"), sample_adapters.Good)
        self.assertIs(load_adapter_class("tests.sample_adapters.Good"), sample_adapters.Good)
        self.assertIs(
            load_adapter_class("tests.sample_adapters:Good.Nested"), sample_adapters.Good.Nested
        )

    def test_instance_and_canonical_name(self):
        adapter, name = load_adapter("tests.sample_adapters.Good")
        self.assertIsInstance(adapter, sample_adapters.Good)
        self.assertEqual(name, "tests.sample_adapters:Good")

    def test_missing_module(self):
        with self.assertRaises(ModuleNotFoundError):
            load_adapter("tests.no_such_module:Good")

    def test_missing_class(self):
        with self.assertRaisesRegex(AttributeError, "has no attribute 'Nope'"):
            load_adapter("tests.sample_adapters:Nope")

    def test_not_an_adapter(self):
        for spec in ["tests.sample_adapters:NotAnAdapter", "tests.sample_adapters:not_a_class"]:
            with self.subTest(spec=spec), self.assertRaisesRegex(TypeError, "BaseAdapter"):
                load_adapter(spec)

    def test_exception_in_init_propagates(self):
        with self.assertRaisesRegex(RuntimeError, "cannot initialise"):
            load_adapter("tests.sample_adapters:BrokenInit")


if __name__ == "__main__":
    unittest.main()
