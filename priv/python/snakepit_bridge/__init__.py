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
    SessionStoreUnavailableError,
)
from ._errors import StreamCancelled
from ._session import SessionContext
from ._stream import Stream
from ._values import register_encoder

__version__ = "0.1.0"
PROTOCOL_VERSION = 3

__all__ = [
    "BaseAdapter",
    "tool",
    "SessionContext",
    "StreamCancelled",
    "Stream",
    "register_encoder",
    "output_array",
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
    "SessionStoreUnavailableError",
    "__version__",
    "PROTOCOL_VERSION",
]


def output_array(shape, dtype="float32"):  # type: ignore[no-untyped-def]
    """A numpy array in shared memory for the running tool to fill and return, so that a large
    result is not copied in Python (see SessionContext.output_array)."""
    from ._session import get_current_session

    return get_current_session().output_array(shape, dtype)
