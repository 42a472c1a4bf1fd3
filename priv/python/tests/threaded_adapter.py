"""An adapter whose module starts a Python thread when imported: a template must not fork it."""
import threading

from snakepit_bridge import BaseAdapter, tool

_stop = threading.Event()
threading.Thread(target=_stop.wait, name="exporter", daemon=True).start()


class ThreadedAdapter(BaseAdapter):
    @tool
    def ping(self) -> str:
        return "pong"
