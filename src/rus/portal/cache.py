"""A tiny thread-safe time-to-live cache for expensive read-only figures (desk dashboard).

When a value is stale, one caller recomputes it while the others keep getting the stale value
(stale-while-revalidate), so an expiry never stalls every request at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


class TTLCache:
    """Keep computed values for ``ttl_s`` seconds (per process)."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._values: dict[str, tuple[float, Any]] = {}
        self._computing: set[str] = set()

    def get_or_compute(self, key: str, compute: Callable[[], Any]) -> Any:
        """The cached value of ``key`` if fresh; else ``compute()`` by one caller at a time.

        Callers arriving while a refresh is under way get the stale value, if there is one.
        """
        while True:
            with self._lock:
                hit = self._values.get(key)
                if hit is not None and time.monotonic() - hit[0] < self.ttl_s:
                    return hit[1]
                if key not in self._computing:
                    self._computing.add(key)
                    break
                if hit is not None:
                    return hit[1]
            time.sleep(0.005)  # first computation in progress: wait for it
        try:
            value = compute()
            with self._lock:
                self._values[key] = (time.monotonic(), value)
            return value
        finally:
            with self._lock:
                self._computing.discard(key)

    def clear(self) -> None:
        """Forget everything (after a change that must show at once)."""
        with self._lock:
            self._values.clear()
