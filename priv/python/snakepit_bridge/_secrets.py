"""What the host hands a worker over an inherited pipe, never in the environment: where to
call the host back and the secret for it, and the worker's own secret, which every call from
the host carries."""
import json
import os
from typing import NamedTuple, Optional

MAX_SECRETS_BYTES = 64 * 1024


class Secrets(NamedTuple):
    host_address: str
    host_secret: str
    worker_secret: str


def read_secrets(fd: Optional[int]) -> Optional[Secrets]:
    """One JSON object from ``fd`` (read to its end, then closed), or None without a fd."""
    if fd is None:
        return None
    chunks = []
    size = 0
    try:
        while size <= MAX_SECRETS_BYTES:
            data = os.read(fd, 4096)
            if not data:
                break
            chunks.append(data)
            size += len(data)
    finally:
        os.close(fd)
    if size > MAX_SECRETS_BYTES:
        raise ValueError(f"--secrets-fd {fd} sent more than {MAX_SECRETS_BYTES} bytes")
    return _parse(b"".join(chunks), f"--secrets-fd {fd}")


def read_secrets_line(fd: int) -> Secrets:
    """One JSON line from ``fd``, which stays open: a forked worker's channel to its host, which
    it goes on watching (its EOF means the host is gone)."""
    data = b""
    while not data.endswith(b"\n"):
        if len(data) > MAX_SECRETS_BYTES:
            raise ValueError(f"the host sent more than {MAX_SECRETS_BYTES} bytes of secrets")
        chunk = os.read(fd, 4096)
        if not chunk:
            raise ValueError("the host closed its channel before it sent the secrets")
        data += chunk
    return _parse(data, "the host's channel")


def _parse(data: bytes, source: str) -> Secrets:
    value = json.loads(data.decode("utf-8"))
    if not isinstance(value, dict) or not value.get("workerSecret"):
        raise ValueError(f"{source} did not send a JSON object with a workerSecret")
    return Secrets(str(value.get("hostAddress", "")), str(value.get("hostSecret", "")), str(value["workerSecret"]))
