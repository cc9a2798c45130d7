"""The desk's TTL cache: fresh hits, expiry, stale values served during a refresh."""

from __future__ import annotations

import threading
import time

from rus.portal.cache import TTLCache


def test_ttl_cache_hits_expires_and_serves_stale_while_refreshing() -> None:
    cache = TTLCache(ttl_s=0.05)
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert cache.get_or_compute("k", compute) == 1
    assert cache.get_or_compute("k", compute) == 1  # fresh hit
    time.sleep(0.06)
    started, release = threading.Event(), threading.Event()

    def slow() -> int:
        started.set()
        release.wait(5)
        return 99

    t = threading.Thread(target=lambda: cache.get_or_compute("k", slow))
    t.start()
    assert started.wait(5)
    assert cache.get_or_compute("k", compute) == 1  # stale value while the refresh runs
    release.set()
    t.join(5)
    assert cache.get_or_compute("k", compute) == 99 and len(calls) == 1
