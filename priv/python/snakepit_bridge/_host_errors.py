"""Exceptions raised by calls to the host (session state and host tools).

No grpc import here: these classes are importable (and catchable) in any worker.
"""
import json
from typing import Any, Dict, Optional


class HostError(Exception):
    """A call to the Snakepit host failed. ``code`` is the host's error code (or None),
    ``details`` the host's extra facts, ``error_type`` the host's error type name."""

    def __init__(
        self,
        message: str,
        code: Optional[str] = None,
        details: Optional[Dict[str, Any]] = None,
        error_type: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = details or {}
        self.error_type = error_type or type(self).__name__
        self.host_traceback = ""

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> Any:  # picklable despite the extra constructor arguments
        return (type(self), (self.message, self.code, self.details, self.error_type))


class HostUnavailableError(HostError):
    """The host cannot be reached: not configured, refused the secret, or the transport failed.
    ``code`` is the gRPC status name (e.g. "UNAVAILABLE"), or "HOST_NOT_CONFIGURED"."""


class HostTimeoutError(HostError, TimeoutError):
    """The host did not answer within the host-call timeout (SNAKEPIT_HOST_CALL_TIMEOUT_MS)."""


class HostPayloadTooLargeError(HostError):
    """A message to or from the host was over the message-size limit (maxMessageBytes)."""


class HostToolError(HostError):
    """A host tool failed."""


class HostToolValidationError(HostToolError, ValueError):
    """The host rejected the tool's arguments."""


class HostToolNotFoundError(HostToolError, LookupError):
    """The host has no tool of that name."""


class SessionNotFoundError(HostError, KeyError):
    """The session is unknown to the host (never created, expired or closed)."""

    def __str__(self) -> str:  # KeyError.__str__ would quote the message
        return self.message


class SessionQuotaError(HostError, ValueError):
    """The host refused to store the value: over a session limit (the message names it, e.g.
    sessions.maxValueBytes). Nothing was stored."""


class SessionStoreFullError(HostError):
    """The host's session store is full (sessions.maxTotalBytes). Nothing was stored."""


class SessionStoreUnavailableError(HostError):
    """The host's session store (Redis) does not answer; the operation's outcome is unknown."""


_BY_TYPE = {
    "HostToolValidationError": HostToolValidationError,
    "HostToolNotFoundError": HostToolNotFoundError,
    "SessionNotFoundError": SessionNotFoundError,
    "SessionQuotaError": SessionQuotaError,
    "SessionStoreFullError": SessionStoreFullError,
    "SessionStoreUnavailableError": SessionStoreUnavailableError,
}


def error_from_info(info: Any, fallback: type = HostToolError) -> HostError:
    """The exception for an ErrorInfo from a HostReply; unknown types become ``fallback``."""
    details = _details(info.details_json)
    code = details.get("code")
    cls = _BY_TYPE.get(info.type, fallback)
    message = info.message or f"{info.type or 'host error'} (no message)"
    err = cls(message, None if code is None else str(code), details, info.type)
    err.host_traceback = info.traceback
    return err


def unavailable_from_rpc(err: Any, method: str, address: str) -> HostError:
    """The HostError for a grpc.RpcError raised by a Host call: a timeout, a message over the
    size limit, or (for everything else) HostUnavailableError."""
    status = err.code() if callable(getattr(err, "code", None)) else None
    name = getattr(status, "name", None) or "UNKNOWN"
    text = (err.details() if callable(getattr(err, "details", None)) else None) or str(err)
    details = {"status": name, "status_details": text}
    if name == "DEADLINE_EXCEEDED":
        return HostTimeoutError(f"the Snakepit host did not answer {method} in time: {text}", name, details)
    if name == "RESOURCE_EXHAUSTED":
        return HostPayloadTooLargeError(
            f"a {method} message to or from the Snakepit host is over the size limit "
            f"(maxMessageBytes): {text}",
            name,
            details,
        )
    if name == "UNAUTHENTICATED":
        message = (
            f"the Snakepit host at {address} refused this worker's host secret on {method} "
            f"(the secret the host passed over the secrets pipe, or SNAKEPIT_HOST_SECRET for a "
            f"worker run by hand): {text}"
        )
    else:
        message = f"Snakepit host at {address} unavailable ({method}): {name}: {text}"
    return HostUnavailableError(message, name, {"status": name, "status_details": text})


def not_configured(missing: Any) -> HostUnavailableError:
    """HostUnavailableError for a worker started without the host's environment."""
    names = " and ".join(missing)
    return HostUnavailableError(
        f"no Snakepit host to call: {names} not set, so this worker was not started by a "
        "Snakepit host; session state and host tools are unavailable",
        "HOST_NOT_CONFIGURED",
        {"missing": list(missing)},
    )


def _details(raw: bytes) -> Dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {"raw": raw.decode("utf-8", "replace")}
    return value if isinstance(value, dict) else {"value": value}
