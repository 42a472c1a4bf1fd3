"""The bridge's own error types (ErrorInfo.type values not raised by tools)."""
from typing import Any, Dict, Optional


class BridgeError(Exception):
    """An error the bridge reports in ExecuteReply.error (no traceback)."""

    def __init__(self, message: str, details: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    @property
    def type_name(self) -> str:
        return type(self).__name__


class UnknownToolError(BridgeError):
    """The requested tool is not defined by the adapter."""


class PayloadTooLargeError(BridgeError):
    """The encoded result exceeds --max-message-bytes."""


class ResultNotSerializableError(BridgeError):
    """The result is neither JSON-serialisable nor bytes-like."""


class StreamingToolError(BridgeError):
    """Execute was called on a streaming tool (use ExecuteStream)."""


class NotAStreamingToolError(BridgeError):
    """ExecuteStream was called on a tool that does not stream (use Execute)."""


class StreamCancelled(BaseException):
    """Raised by ``stream.send`` in a streaming tool once its call is cancelled (by the
    host's Cancel, or because the caller went away): let it propagate so the tool ends.

    A BaseException, like asyncio.CancelledError, so that ``except Exception`` in the
    tool does not swallow it.
    """
