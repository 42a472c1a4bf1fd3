"""The adapter of the consumer app: a plain call, an exception, session state, a stream and a host tool."""
import os

import snakepit_bridge
from snakepit_bridge import BaseAdapter, tool


class ConsumerAdapter(BaseAdapter):
    @tool(description="Double a number")
    def double(self, x: int) -> dict:
        return {"result": x * 2, "pid": os.getpid(), "bridge": os.path.dirname(snakepit_bridge.__file__)}

    @tool(description="Count the calls of this session")
    def visits(self) -> int:
        count = (self.session_context.get_state("visits") or 0) + 1
        self.session_context.set_state("visits", count)
        return count

    @tool(supports_streaming=True)
    def count(self, n: int):
        for i in range(n):
            yield {"i": i}

    @tool(description="Refuse a value")
    def refuse(self, value: str) -> None:
        raise ValueError(f"cannot use {value!r}")

    @tool(description="Greet through the host")
    def greet_via_host(self, name: str) -> str:
        return self.session_context.call_host_tool("greet", name=name)
