"""The adapter the benchmarks load: one tiny tool, so boot figures measure the pool, not imports."""
from snakepit_bridge import BaseAdapter, tool


class BenchAdapter(BaseAdapter):
    @tool
    def add(self, a, b):
        return a + b
