"""Adapters used by the tests (loaded by module path)."""
from snakepit_bridge import BaseAdapter, tool


class Good(BaseAdapter):
    class Nested(BaseAdapter):
        @tool
        def hi(self):
            return "hi"

    @tool
    def hello(self, name="world"):
        return f"hello {name}"


class BrokenInit(BaseAdapter):
    def __init__(self):
        raise RuntimeError("cannot initialise")


class NotAnAdapter:
    pass


not_a_class = 42
