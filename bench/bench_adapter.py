"""The adapter the benchmarks load: one tiny tool, so boot figures measure the pool, not imports."""
from snakepit_bridge import BaseAdapter, tool


class BenchAdapter(BaseAdapter):
    @tool
    def add(self, a, b):
        return a + b

    @tool
    def call_host(self, name):
        return self.session_context.call_host_tool(name)

    @tool(supports_streaming=True)
    def blob(self, count, size):
        chunk = b"x" * size
        for _ in range(count):
            yield chunk
