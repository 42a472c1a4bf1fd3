"""The adapter the benchmarks load: one tiny tool, so boot figures measure the pool, not imports."""
import time

from snakepit_bridge import BaseAdapter, tool


class BenchAdapter(BaseAdapter):
    thread_safe = True  # no state: the thread profile may run its tools at once

    @tool
    def sleep_ms(self, ms):
        time.sleep(ms / 1000)
        return ms
    @tool
    def add(self, a, b):
        return a + b

    @tool
    def add_ints(self, a: int, b: int, scale: float = 1.0) -> float:
        """add with type hints: its arguments schema is what host-side validation checks."""
        return (a + b) * scale

    @tool
    def call_host(self, name):
        return self.session_context.call_host_tool(name)

    @tool(supports_streaming=True)
    def blob(self, count, size):
        chunk = b"x" * size
        for _ in range(count):
            yield chunk
