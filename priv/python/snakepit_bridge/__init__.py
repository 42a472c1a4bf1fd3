"""snakepit_bridge: the Python worker side of Snakepit for NestJS.

Write an adapter by subclassing :class:`BaseAdapter` and marking methods with
:func:`tool`; run it with ``python -m snakepit_bridge.server --adapter module:Class``.
Inside a tool, ``self.session_context`` gives the call's session state and the host's tools.
"""
from .adapter import BaseAdapter
from .decorators import tool
from .host_errors import (
    HostError,
    HostPayloadTooLargeError,
    HostTimeoutError,
    HostToolError,
    HostToolNotFoundError,
    HostToolValidationError,
    HostUnavailableError,
    SessionNotFoundError,
)
from .errors import StreamCancelled
from .session import SessionContext

__version__ = "0.1.0"
PROTOCOL_VERSION = 1

__all__ = [
    "BaseAdapter",
    "tool",
    "SessionContext",
    "StreamCancelled",
    "HostError",
    "HostUnavailableError",
    "HostTimeoutError",
    "HostPayloadTooLargeError",
    "HostToolError",
    "HostToolValidationError",
    "HostToolNotFoundError",
    "SessionNotFoundError",
    "__version__",
    "PROTOCOL_VERSION",
]
