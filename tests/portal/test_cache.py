"""The desk's TTL cache: fresh hits, expiry, stale values served during a refresh."""

from __future__ import annotations

import threading
import time
from typing import Any

from fastapi.testclient import TestClient

from rus.portal.cache import TTLCache
from tests.portal.conftest import make_admin, new_client, register_verified, request_body


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


def test_list_totals_follow_writes_and_visibility(app: Any, client: TestClient) -> None:
    """Staff list totals come from the per-process count cache, dropped after every write in
    this process; a user's own list is never cached (always counted, always their own)."""
    admin = new_client(app)
    make_admin(app, admin)
    register_verified(app, client, "owner@example.org")

    def staff_total(state: str) -> int:
        r = admin.get("/api/v1/requests", params={"state": state, "limit": 1})
        assert r.status_code == 200, r.text
        return int(r.json()["total"])

    assert staff_total("submitted") == 0 and "0 in all" in admin.get("/admin/requests").text
    for i in range(2):
        r = client.post("/api/v1/requests", json=request_body(title=f"Cached count {i}"))
        assert r.status_code == 201, r.text
    assert staff_total("submitted") == 2
    page = admin.get("/admin/requests?state=submitted").text
    assert "2 in all" in page and "Cached count 1" in page
    rid = r.json()["id"]
    r = client.post(f"/api/v1/requests/{rid}/withdraw")
    assert r.status_code == 200, r.text
    assert staff_total("submitted") == 1 and staff_total("withdrawn") == 1
    assert "1 in all" in admin.get("/admin/requests?state=withdrawn").text

    other = new_client(app)
    register_verified(app, other, "other@example.org")
    mine = other.get("/api/v1/requests").json()
    assert mine["total"] == 0 and mine["items"] == []
    assert client.get("/api/v1/requests").json()["total"] == 2


def test_thread_pool_sized_from_settings(app: Any) -> None:
    """The app's lifespan sizes the request thread pool to ``portal_threads``."""
    import anyio.to_thread

    def tokens() -> float:
        return anyio.to_thread.current_default_thread_limiter().total_tokens

    with TestClient(app) as c:
        assert c.portal is not None
        assert c.portal.call(tokens) == app.state.settings.portal_threads == 8
        assert c.get("/healthz").status_code == 200
