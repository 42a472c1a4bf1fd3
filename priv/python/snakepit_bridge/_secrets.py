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
    value = json.loads(b"".join(chunks).decode("utf-8"))
    if not isinstance(value, dict) or not value.get("workerSecret"):
        raise ValueError(f"--secrets-fd {fd} did not send a JSON object with a workerSecret")
    return Secrets(str(value.get("hostAddress", "")), str(value.get("hostSecret", "")), str(value["workerSecret"]))
