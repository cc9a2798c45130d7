"""HTML pages: forms with CSRF, the whole flow through pages, errors shown in the form."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.portal.conftest import AOI, PASSWORD, last_link, make_admin, new_client


@pytest.fixture()
def db_url(tmp_path: Path) -> str:
    """Pages are backend-independent: SQLite only."""
    from rus.db.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'rus.db'}"
    upgrade(url)
    return url


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field in the page"
    return match.group(1)


def page_login(client: TestClient, email: str, password: str = PASSWORD) -> None:
    csrf = csrf_of(client.get("/login").text)
    r = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf, "next": "/requests"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/requests", r.text


def page_register(app: Any, client: TestClient, email: str) -> None:
    csrf = csrf_of(client.get("/register").text)
    form = {
        "email": email,
        "password": PASSWORD,
        "password2": PASSWORD,
        "csrf_token": csrf,
        "organisation": "ESA",
        "user_type": "rnd",
    }
    r = client.post("/register", data=form)
    assert r.status_code == 200 and "Check your email" in r.text
    r = client.get(f"/verify?token={last_link(app, email, '/verify')}", follow_redirects=False)
    assert r.status_code == 303


def request_form(csrf: str, **over: str) -> dict[str, Any]:
    form: dict[str, Any] = {
        "csrf_token": csrf,
        "title": "Burn severity Portugal",
        "datasets": ["S2 L2A", "S2 L1C"],
        "copernicus_main_source": "yes",
        "aoi": AOI,
        "period_start": "2017-06-01",
        "period_end": "2017-07-31",
        "data_volume_gb": "40",
        "processing_needs": "light",
        "requested_months": "2",
        "n_users": "2",
        "support_level": "basic",
    }
    form.update(over)
    return form


def test_page_flow_register_to_approval(app: Any, client: TestClient) -> None:
    page_register(app, client, "page@example.org")
    page_login(client, "page@example.org")
    csrf = csrf_of(client.get("/requests/new").text)
    wkt = b"POLYGON((-8.3 39.9, -8.0 39.9, -8.0 40.1, -8.3 39.9))"
    r = client.post(
        "/requests/new",
        data=request_form(csrf, aoi=""),
        files={"aoi_file": ("aoi.wkt", wkt, "text/plain")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    detail_url = r.headers["location"]
    html = client.get(detail_url).text
    assert "Proposed sizing" in html and "-8.3 39.9" in html and "eligible" in html

    admin = new_client(app)
    make_admin(app, admin)  # API login also sets the page session cookie
    queue = admin.get("/admin/requests").text
    assert "Burn severity Portugal" in queue and "page@example.org" in queue
    rid = detail_url.rsplit("/", 1)[1]
    acsrf = csrf_of(admin.get(detail_url).text)
    r = admin.post(
        f"/admin/requests/{rid}/decide",
        data={"csrf_token": acsrf, "action": "approve", "reason": "enjoy"},
    )
    assert r.status_code == 200 and "approve done" in r.text

    html = client.get(detail_url).text
    assert "Approved environment" in html and "Extend or resize" in html
    assert "approved" in client.get("/notifications").text
    desk = admin.get("/desk").text
    assert "Service Management Desk" in desk and "page@example.org" in desk
    csv = admin.get("/desk/export.csv")
    assert csv.status_code == 200 and "Burn severity Portugal" in csv.text
    assert "Confirm your email" in admin.get("/admin/mail").text


def test_forms_need_csrf_and_login(app: Any, client: TestClient) -> None:
    r = client.post("/login", data={"email": "x@example.org", "password": "y"})
    assert r.status_code == 403 and "CSRF" in r.text
    r = client.get("/admin/requests", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/admin/requests"
    page_register(app, client, "plain@example.org")
    page_login(client, "plain@example.org")
    assert client.get("/desk").status_code == 403
    r = client.post("/requests/new", data=request_form("wrong-token"))
    assert r.status_code == 403


def test_request_form_errors_keep_input(app: Any, client: TestClient) -> None:
    page_register(app, client, "err@example.org")
    page_login(client, "err@example.org")
    csrf = csrf_of(client.get("/requests/new").text)
    r = client.post(
        "/requests/new", data=request_form(csrf, aoi="POLYGON((0 0, 1 1, 1 0, 0 1, 0 0))")
    )
    assert r.status_code == 422 and "Self-intersection" in r.text
    assert 'value="Burn severity Portugal"' in r.text  # input kept
    r = client.post("/requests/new", data=request_form(csrf, period_end="2017-01-01"))
    assert r.status_code == 422 and "before period start" in r.text
    big = b"x" * 30_000
    r = client.post(
        "/requests/new",
        data=request_form(csrf, aoi=""),
        files={"aoi_file": ("big.geojson", big, "application/json")},
    )
    assert r.status_code == 413 and "larger than the limit" in r.text
    assert "You have not filed any request yet" in client.get("/requests").text


def test_password_reset_pages(app: Any, client: TestClient) -> None:
    page_register(app, client, "forgot@example.org")
    csrf = csrf_of(client.get("/reset-request").text)
    r = client.post("/reset-request", data={"email": "forgot@example.org", "csrf_token": csrf})
    assert "reset link" in r.text
    token = last_link(app, "forgot@example.org", "/reset")
    csrf = csrf_of(client.get(f"/reset?token={token}").text)
    new = "a brand new passphrase"
    r = client.post(
        "/reset",
        data={"token": token, "password": new, "password2": new, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page_login(client, "forgot@example.org", new)
    # the old password no longer works
    other = new_client(app)
    csrf = csrf_of(other.get("/login").text)
    r = other.post(
        "/login", data={"email": "forgot@example.org", "password": PASSWORD, "csrf_token": csrf}
    )
    assert r.status_code == 401 and "wrong email or password" in r.text


def test_sizing_preview_fragment_and_no_cdn(app: Any, client: TestClient) -> None:
    page_register(app, client, "prev@example.org")
    page_login(client, "prev@example.org")
    html = client.get("/requests/new").text
    csrf = csrf_of(html)
    r = client.post(
        "/requests/preview",
        data=request_form(csrf, support_level="proficient", processing_needs="heavy"),
    )
    assert r.status_code == 200 and "2 VM(s) × 6 cores" in r.text and "eligible" in r.text
    r = client.post("/requests/preview", data=request_form(csrf, data_volume_gb="lots"))
    assert "Sizing preview:" in r.text
    # every script and stylesheet is served locally (users may be offline)
    for page in (html, client.get("/").text, client.get("/api/docs").text):
        refs = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', page)
        assert refs and all(ref.startswith("/static/") for ref in refs), refs
    assert client.get("/api/v1/openapi.json").json()["paths"]["/api/v1/requests"]


def test_login_next_is_local_only(app: Any, client: TestClient) -> None:
    page_register(app, client, "next@example.org")
    for target, expected in [
        ("/profile", "/profile"),
        ("//evil.example", "/requests"),
        ("/\\evil.example", "/requests"),
        ("https://evil.example/", "/requests"),
    ]:
        c = new_client(app)
        csrf = csrf_of(c.get("/login").text)
        r = c.post(
            "/login",
            data={
                "email": "next@example.org",
                "password": PASSWORD,
                "csrf_token": csrf,
                "next": target,
            },
            follow_redirects=False,
        )
        assert r.headers["location"] == expected, target
