"""snakepit_bridge: the Python worker side of Snakepit for NestJS.

Write an adapter by subclassing :class:`BaseAdapter` and marking methods with
:func:`tool`; run it with ``python -m snakepit_bridge.server --adapter module:Class``.
"""
from .adapter import BaseAdapter
from .decorators import tool

__version__ = "0.1.0"
PROTOCOL_VERSION = 1

__all__ = ["BaseAdapter", "tool", "__version__", "PROTOCOL_VERSION"]
