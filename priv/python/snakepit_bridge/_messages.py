"""The generated protobuf messages, as ``pb2``, with a clear error when missing."""
try:
    from .generated import snakepit_bridge_pb2 as pb2
except ImportError as exc:  # depends on the installation
    if (getattr(exc, "name", None) or "").startswith("google"):
        _hint = ("the protobuf package is missing for this Python: run 'npx snakepit setup' in "
                 "the project, or pip install 'protobuf>=3.20' 'grpcio>=1.51'")
    else:
        _hint = ("the generated protobuf stubs are missing: reinstall @snakepit/nestjs (they ship "
                 "with it); in a checkout of its repository, run 'make setup'")
    raise ImportError(f"snakepit_bridge: {_hint} ({exc})") from exc

__all__ = ["pb2"]
