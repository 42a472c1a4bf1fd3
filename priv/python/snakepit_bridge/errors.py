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
