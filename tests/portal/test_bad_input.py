"""Bad input gives clear errors and writes nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from tests.portal.conftest import (
    PASSWORD,
    db_session,
    last_link,
    new_client,
    register_verified,
    request_body,
)

BOWTIE = "POLYGON((0 0, 1 1, 1 0, 0 1, 0 0))"


def _count(app: Any, model: Any) -> int:
    with db_session(app) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_invalid_aoi_and_reversed_dates(app: Any, client: TestClient) -> None:
    from rus.db.models.requests import AuditEvent, ServiceRequest

    register_verified(app, client, "bad@example.org")
    r = client.post("/api/v1/requests", json=request_body(aoi=BOWTIE))
    assert r.status_code == 422 and "Self-intersection" in r.json()["detail"]
    r = client.post("/api/v1/requests", json=request_body(aoi="POINT(1 2)"))
    assert r.status_code == 422 and "Polygon" in r.json()["detail"]
    r = client.post("/api/v1/requests", json=request_body(aoi="not a shape"))
    assert r.status_code == 422 and "WKT nor GeoJSON" in r.json()["detail"]
    r = client.post(
        "/api/v1/requests",
        json=request_body(
            aoi='{"type": "Polygon", "coordinates": [[[200, 0], [201, 0], [201, 1], [200, 0]]]}'
        ),
    )
    assert r.status_code == 422 and "longitude/latitude" in r.json()["detail"]
    r = client.post(
        "/api/v1/requests", json=request_body(period_start="2024-06-01", period_end="2024-01-01")
    )
    assert r.status_code == 422 and "before period start" in r.text
    assert _count(app, ServiceRequest) == 0 and _count(app, AuditEvent) == 0
    # a GeoJSON Feature is accepted and stored as WKT
    feature = (
        '{"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", '
        '"coordinates": [[[13.4, 45.5], [13.8, 45.5], [13.8, 45.8], [13.4, 45.5]]]}}'
    )
    r = client.post("/api/v1/requests", json=request_body(aoi=feature))
    assert r.status_code == 201 and r.json()["aoi_wkt"].startswith("POLYGON ((13.4 45.5")


def test_oversized_upload(app: Any, client: TestClient) -> None:
    register_verified(app, client, "up@example.org")
    big = b"POLYGON((" + b"0 0, " * 10_000 + b"0 0))"
    r = client.post("/api/v1/aoi", files={"file": ("big.wkt", big, "text/plain")})
    assert r.status_code == 413 and "20,000 bytes" in r.json()["detail"]
    ok = b"POLYGON((1 1, 2 1, 2 2, 1 1))"
    r = client.post("/api/v1/aoi", files={"file": ("ok.wkt", ok, "text/plain")})
    assert r.status_code == 200 and r.json()["wkt"] == "POLYGON ((1 1, 2 1, 2 2, 1 1))"


def test_duplicate_email(app: Any, client: TestClient) -> None:
    from rus.db.models.accounts import User

    body = {"email": "dup@example.org", "password": PASSWORD}
    assert client.post("/api/v1/auth/register", json=body).status_code == 201
    r = client.post("/api/v1/auth/register", json={**body, "email": " DUP@example.org "})
    assert r.status_code == 409 and "already exists" in r.json()["detail"]
    assert _count(app, User) == 1


def test_expired_and_reused_verification_link(app: Any, client: TestClient) -> None:
    from rus.db.models.accounts import EmailToken, User

    body = {"email": "late@example.org", "password": PASSWORD}
    client.post("/api/v1/auth/register", json=body)
    token = last_link(app, "late@example.org", "/verify")
    with db_session(app) as s:
        s.execute(update(EmailToken).values(expires_at=datetime.now(UTC) - timedelta(hours=1)))
        s.commit()
    r = client.post("/api/v1/auth/verify", json={"token": token})
    assert r.status_code == 422 and "expired" in r.json()["detail"]
    page = client.get(f"/verify?token={token}")
    assert page.status_code == 400 and "expired" in page.text and "Send a new link" in page.text
    with db_session(app) as s:
        assert s.scalar(select(User.is_verified)) is False
    r = client.post("/api/v1/auth/login", json=body)
    assert r.status_code == 401 and "confirm your email" in r.json()["detail"]
    # a fresh link works once, then says it was used
    client.post("/api/v1/auth/resend-verification", json={"email": "late@example.org"})
    token = last_link(app, "late@example.org", "/verify")
    assert client.post("/api/v1/auth/verify", json={"token": token}).status_code == 200
    r = client.post("/api/v1/auth/verify", json={"token": token})
    assert r.status_code == 422 and "already been used" in r.json()["detail"]


def test_login_rate_limit(app: Any, client: TestClient) -> None:
    register_verified(app, client, "rl@example.org")
    c = new_client(app)
    for _ in range(3):
        r = c.post("/api/v1/auth/login", json={"email": "rl@example.org", "password": "wrong pw"})
        assert r.status_code == 401 and r.json()["detail"] == "wrong email or password"
    r = c.post("/api/v1/auth/login", json={"email": "rl@example.org", "password": PASSWORD})
    assert r.status_code == 429 and "too many failed logins" in r.json()["detail"]
