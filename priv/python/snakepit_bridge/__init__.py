"""snakepit_bridge: the Python worker side of Snakepit for NestJS.

Write an adapter by subclassing :class:`BaseAdapter` and marking methods with
:func:`tool`; run it with ``python -m snakepit_bridge.server --adapter module:Class``.
Inside a tool, ``self.session_context`` gives the call's session state and the host's tools.
Everything public is here; the modules whose names start with ``_`` are the bridge's own.
"""
from ._adapter import BaseAdapter
from ._decorators import tool
from ._host_errors import (
    HostError,
    HostPayloadTooLargeError,
    HostTimeoutError,
    HostToolError,
    HostToolNotFoundError,
    HostToolValidationError,
    HostUnavailableError,
    SessionNotFoundError,
    SessionQuotaError,
    SessionStoreFullError,
)
from ._errors import StreamCancelled
from ._session import SessionContext
from ._stream import Stream

__version__ = "0.1.0"
PROTOCOL_VERSION = 2

__all__ = [
    "BaseAdapter",
    "tool",
    "SessionContext",
    "StreamCancelled",
    "Stream",
    "HostError",
    "HostUnavailableError",
    "HostTimeoutError",
    "HostPayloadTooLargeError",
    "HostToolError",
    "HostToolValidationError",
    "HostToolNotFoundError",
    "SessionNotFoundError",
    "SessionQuotaError",
    "SessionStoreFullError",
    "__version__",
    "PROTOCOL_VERSION",
]
