"""Portal fixtures: a migrated database (SQLite, or PostgreSQL started by scripts/pg-test.sh),
the app, and helpers that walk the real flows (register -> read the mail sink -> verify -> login).
"""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
PASSWORD = "correct horse battery"
AOI = "POLYGON((13.4 45.5, 13.8 45.5, 13.8 45.8, 13.4 45.8, 13.4 45.5))"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A PostgreSQL 15 server on 127.0.0.1 for this test session (URL of its admin database)."""
    if not (PG_BIN / "initdb").exists():
        pytest.skip("PostgreSQL 15 not installed (make test installs it via system-deps)")
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "pg-test.sh"), "start"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    try:
        yield values["URL"]
    finally:
        subprocess.run(
            ["bash", str(ROOT / "scripts" / "pg-test.sh"), "stop", values["DIR"]],
            check=False,
            timeout=60,
        )


def _fresh_pg_database(admin_url: str) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.xdist_group("postgres")]),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: SQLite in ``tmp_path`` or a fresh PostgreSQL database."""
    from rus.db.migrate import upgrade

    if request.param == "postgres":
        url = _fresh_pg_database(request.getfixturevalue("pg_server"))
    else:
        url = f"sqlite:///{tmp_path / 'rus.db'}"
    upgrade(url)
    return url


@pytest.fixture()
def settings(db_url: str, tmp_path: Path) -> Any:
    """Test settings on ``db_url`` (mail to the sink, small upload limit, strict login limit)."""
    from rus.settings import Settings

    return Settings(
        home=tmp_path / "home",
        environment="test",
        database_url=db_url,
        secret_key="test-secret-" + uuid.uuid4().hex,
        base_url="http://testserver",
        login_max_failures=3,
        upload_max_bytes=20_000,
    )


@pytest.fixture()
def app(settings: Any) -> Iterator[Any]:
    """The portal app."""
    from rus.portal.app import create_app

    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture()
def client(app: Any) -> Iterator[TestClient]:
    """An anonymous client."""
    with TestClient(app) as c:
        yield c


def db_session(app: Any) -> Session:
    """A session on the app's database (for reading what the app wrote)."""
    return app.state.sessionmaker()  # type: ignore[no-any-return]


def last_link(app: Any, to: str, path: str) -> str:
    """The token in the newest ``path?token=`` link mailed to ``to`` (from the mail sink)."""
    from rus.db.models.accounts import MailMessage

    with db_session(app) as s:
        body = s.scalars(
            select(MailMessage.body)
            .where(MailMessage.recipient == to)
            .order_by(MailMessage.id.desc())
        ).first()
    assert body is not None, f"no mail to {to}"
    match = re.search(rf"{path}\?token=([\w-]+)", body)
    assert match, body
    return match.group(1)


def new_client(app: Any) -> TestClient:
    """A second independent client (own cookies)."""
    return TestClient(app)


def register_verified(app: Any, client: TestClient, email: str, **extra: Any) -> dict[str, Any]:
    """Register ``email`` through the API, verify it with the mailed link, log in; return
    ``{"user": ..., "csrf": ...}`` and leave ``client`` logged in with the CSRF header set."""
    r = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD, **extra})
    assert r.status_code == 201, r.text
    token = last_link(app, email.lower(), "/verify")
    assert client.post("/api/v1/auth/verify", json={"token": token}).status_code == 200
    r = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    body = r.json()
    client.headers["X-CSRF-Token"] = body["csrf_token"]
    return {"user": body["user"], "csrf": body["csrf_token"]}


def make_admin(app: Any, client: TestClient, email: str = "boss@example.org") -> dict[str, Any]:
    """A logged-in admin (promoted directly in the database, as ``rus admin create`` does)."""
    from rus.db.models.accounts import User

    info = register_verified(app, client, email)
    with db_session(app) as s:
        user = s.get(User, info["user"]["id"])
        assert user is not None
        user.role = "admin"
        s.commit()
    return info


def request_body(**over: Any) -> dict[str, Any]:
    """A valid service request body."""
    body: dict[str, Any] = {
        "title": "Ship detection in the Gulf of Trieste",
        "description": "Monthly S1 ship detection",
        "application_domain": "maritime",
        "datasets": ["S1 GRD"],
        "aoi": AOI,
        "period_start": "2024-01-01",
        "period_end": "2024-06-30",
        "data_volume_gb": 300,
        "processing_needs": "moderate",
        "requested_months": 4,
        "n_users": 1,
        "support_level": "rnd",
    }
    body.update(over)
    return body
