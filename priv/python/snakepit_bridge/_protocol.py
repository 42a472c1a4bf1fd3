"""Wire constants shared by the worker and its tests (no protobuf import here)."""
SERVICE_NAME = "snakepit.bridge.Worker"
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
