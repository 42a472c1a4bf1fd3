"""The generated protobuf messages, as ``pb2``, with a clear error when missing."""
try:
    from .generated import snakepit_bridge_pb2 as pb2
except ImportError as exc:  # depends on the installation
    if (getattr(exc, "name", None) or "").startswith("google"):
        _hint = "the protobuf package is missing: pip install -r priv/python/requirements.txt"
    else:
        _hint = "protobuf stubs are missing: run scripts/gen-python-stubs.sh [PYTHON]"
    raise ImportError(f"snakepit_bridge: {_hint} ({exc})") from exc

__all__ = ["pb2"]
