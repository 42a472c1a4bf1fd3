"""The pip package: its metadata agrees with the files the host and set-up read."""
import json
import os
import unittest

from tests import PRIV_PYTHON

try:
    import tomllib
except ImportError:  # Python < 3.11
    tomllib = None


def requirements():
    with open(os.path.join(PRIV_PYTHON, "requirements.txt"), encoding="utf-8") as handle:
        return sorted(line.strip() for line in handle if line.strip() and not line.lstrip().startswith("#"))


@unittest.skipIf(tomllib is None, "tomllib needs Python 3.11")
class PyprojectTest(unittest.TestCase):
    def setUp(self):
        with open(os.path.join(PRIV_PYTHON, "pyproject.toml"), "rb") as handle:
            self.project = tomllib.load(handle)

    def test_dependencies_are_the_requirements_file(self):
        self.assertEqual(sorted(self.project["project"]["dependencies"]), requirements())

    def test_version_comes_from_the_package_and_only_the_bridge_is_shipped(self):
        self.assertEqual(self.project["tool"]["setuptools"]["dynamic"]["version"], {"attr": "snakepit_bridge.__version__"})
        self.assertEqual(self.project["tool"]["setuptools"]["packages"]["find"]["include"], ["snakepit_bridge", "snakepit_bridge.*"])
        self.assertTrue(os.path.exists(os.path.join(PRIV_PYTHON, "snakepit_bridge", "py.typed")))

    def test_the_version_is_the_npm_packages(self):
        import snakepit_bridge

        package_json = os.path.join(PRIV_PYTHON, "..", "..", "libs", "snakepit", "package.json")
        with open(package_json, encoding="utf-8") as handle:
            self.assertEqual(snakepit_bridge.__version__, json.load(handle)["version"])


if __name__ == "__main__":
    unittest.main()


class ImportTest(unittest.TestCase):
    def test_the_package_imports_without_grpc_or_protobuf(self):
        """Adapters (and their unit tests) import snakepit_bridge in environments without them."""
        import subprocess
        import sys

        code = (
            "import sys; sys.modules['google'] = None; sys.modules['grpc'] = None\n"
            f"sys.path.insert(0, {PRIV_PYTHON!r})\n"
            "import snakepit_bridge\n"
            "from snakepit_bridge import BaseAdapter, Stream, tool\n"
        )
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
