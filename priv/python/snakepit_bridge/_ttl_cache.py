"""A small thread-safe cache whose entries expire after a fixed time-to-live."""
import threading
import time
from typing import Any, Dict, Hashable, Tuple

MISS = object()
"""What ``get`` returns for an absent or expired entry (stored values may be None)."""

_now = time.monotonic


class TtlCache:
    """Entries live ``ttl`` seconds; ``ttl <= 0`` disables the cache (nothing is kept).

    ``put_if_unchanged`` lets a reader store what it fetched only when no write
    happened meanwhile, so a slow read cannot overwrite a newer write.
    """

    def __init__(self, ttl: float, max_entries: int = 10000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: Dict[Hashable, Tuple[float, Any]] = {}
        self._writes = 0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    def get(self, key: Hashable) -> Any:
        entry = self._entries.get(key)
        if entry is None:
            return MISS
        if entry[0] <= _now():
            with self._lock:
                if self._entries.get(key) is entry:
                    del self._entries[key]
            return MISS
        return entry[1]

    def generation(self) -> int:
        """A token for ``put_if_unchanged``: the number of writes so far."""
        return self._writes

    def put(self, key: Hashable, value: Any) -> None:
        """Store ``value`` (a write: it also bumps the generation)."""
        with self._lock:
            self._writes += 1
            self._store(key, value)

    def put_if_unchanged(self, key: Hashable, value: Any, generation: int) -> None:
        """Store ``value`` unless a write or delete happened since ``generation``."""
        with self._lock:
            if self._writes == generation:
                self._store(key, value)

    def delete(self, key: Hashable) -> None:
        with self._lock:
            self._writes += 1
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._writes += 1
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _store(self, key: Hashable, value: Any) -> None:
        if self.ttl <= 0:
            return
        now = _now()
        if len(self._entries) >= self.max_entries:
            self._entries = {k: e for k, e in self._entries.items() if e[0] > now}
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
        self._entries[key] = (now + self.ttl, value)
