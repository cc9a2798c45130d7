"""API flows and role boundaries, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.portal.conftest import (
    db_session,
    make_admin,
    new_client,
    register_verified,
    request_body,
)


def test_full_flow_register_to_approved_sizing(app: Any, client: TestClient) -> None:
    register_verified(app, client, "Ana@Example.org", organisation="Uni", user_type="rnd")
    me = client.get("/api/v1/users/me").json()
    assert me["email"] == "ana@example.org" and me["is_verified"] and me["role"] == "user"

    r = client.post("/api/v1/requests", json=request_body())
    assert r.status_code == 201, r.text
    req = r.json()
    assert req["state"] == "submitted" and req["eligible"]
    # moderate = 4 cores, 300 GB x 2.5 = 0.75 -> 0.8 TB, 4 months within R&D's 6
    assert req["sizing"]["total_cores"] == 4
    assert req["sizing"]["disk_tb"] == 0.8
    assert req["sizing"]["duration_months"] == 4

    admin = new_client(app)
    make_admin(app, admin)
    queue = admin.get("/api/v1/requests", params={"state": "submitted"}).json()
    assert [i["id"] for i in queue["items"]] == [req["id"]]
    r = admin.patch(f"/api/v1/requests/{req['id']}/sizing", json={"cores_per_vm": 5})
    assert r.status_code == 200, r.text
    r = admin.post(f"/api/v1/requests/{req['id']}/approve", json={"reason": "welcome"})
    assert r.status_code == 200, r.text

    mine = client.get(f"/api/v1/requests/{req['id']}").json()
    assert mine["state"] == "approved"
    assert mine["sizing"]["cores_per_vm"] == 5
    expires = datetime.fromisoformat(mine["expires_at"])
    assert (
        timedelta(days=119)
        < expires - datetime.fromisoformat(mine["decided_at"])
        < timedelta(days=121)
    )
    notes = client.get("/api/v1/users/me/notifications").json()
    assert notes["total"] == 1 and "approved" in notes["items"][0]["subject"]
    actions = [e["action"] for e in client.get(f"/api/v1/requests/{req['id']}/audit").json()]
    assert actions == ["created", "sizing_adjusted", "approved"]
    mail = admin.get("/api/v1/admin/mail").json()
    assert any(
        "approved" in m["subject"] and m["recipient"] == "ana@example.org" for m in mail["items"]
    )


def test_role_boundaries(app: Any, client: TestClient) -> None:
    register_verified(app, client, "owner@example.org")
    rid = client.post("/api/v1/requests", json=request_body()).json()["id"]

    other = new_client(app)
    register_verified(app, other, "other@example.org")
    assert other.get(f"/api/v1/requests/{rid}").status_code == 404
    assert other.get(f"/api/v1/requests/{rid}/audit").status_code == 404
    assert other.get("/api/v1/requests").json()["total"] == 0
    assert other.post(f"/api/v1/requests/{rid}/withdraw").status_code == 404
    # a plain user may not approve, adjust, read the desks or the mail sink
    assert other.post(f"/api/v1/requests/{rid}/approve", json={}).status_code == 403
    assert client.post(f"/api/v1/requests/{rid}/approve", json={}).status_code == 403
    assert client.patch(f"/api/v1/requests/{rid}/sizing", json={"vms": 1}).status_code == 403
    assert client.get("/api/v1/desk/dashboard").status_code == 403
    assert client.get("/api/v1/admin/mail").status_code == 403
    assert client.get("/api/v1/admin/users").status_code == 403
    # anonymous
    anon = new_client(app)
    assert anon.get(f"/api/v1/requests/{rid}").status_code == 401
    assert anon.post("/api/v1/requests", json=request_body()).status_code == 401

    # operators see everything and may ask for information, but not approve
    admin = new_client(app)
    make_admin(app, admin)
    uid = other.get("/api/v1/users/me").json()["id"]
    assert (
        admin.put(f"/api/v1/admin/users/{uid}/role", json={"role": "operator"}).status_code == 200
    )
    assert other.get(f"/api/v1/requests/{rid}").status_code == 200
    assert other.post(f"/api/v1/requests/{rid}/approve", json={}).status_code == 403
    r = other.post(f"/api/v1/requests/{rid}/request-info", json={"reason": "Which sensor mode?"})
    assert r.status_code == 200 and r.json()["state"] == "info_requested"
    # approving from info_requested is a state conflict
    assert admin.post(f"/api/v1/requests/{rid}/approve", json={}).status_code == 409
    r = client.post(f"/api/v1/requests/{rid}/respond", json={"answer": "IW mode"})
    assert r.json()["state"] == "submitted"
    assert admin.post(f"/api/v1/requests/{rid}/approve", json={}).json()["state"] == "approved"
    assert admin.post(f"/api/v1/requests/{rid}/reject", json={"reason": "x"}).status_code == 409


def test_csrf_and_api_tokens(app: Any, client: TestClient) -> None:
    register_verified(app, client, "script@example.org")
    csrf = client.headers.pop("X-CSRF-Token")
    r = client.post("/api/v1/requests", json=request_body())
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    r = client.post("/api/v1/users/me/tokens", json={"name": "ci"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201
    token = r.json()["token"]
    bearer = new_client(app)
    bearer.headers["Authorization"] = f"Bearer {token}"
    assert bearer.post("/api/v1/requests", json=request_body()).status_code == 201
    tid = r.json()["id"]
    assert client.delete(f"/api/v1/users/me/tokens/{tid}", headers={"X-CSRF-Token": csrf}).json()[
        "revoked"
    ]
    assert bearer.get("/api/v1/users/me").status_code == 401
    # credentials -> token for scripts
    r = new_client(app).post(
        "/api/v1/auth/tokens",
        json={"email": "script@example.org", "password": "correct horse battery"},
    )
    assert r.status_code == 201 and r.json()["token"].startswith("rus_")


def test_followups_extend_and_resize(app: Any, client: TestClient) -> None:
    register_verified(app, client, "fu@example.org")
    rid = client.post("/api/v1/requests", json=request_body(support_level="basic")).json()["id"]
    admin = new_client(app)
    make_admin(app, admin)
    # follow-ups need an approved parent
    r = client.post(
        f"/api/v1/requests/{rid}/followups",
        json={"kind": "extend", "reason": "more", "extra_months": 2},
    )
    assert r.status_code == 409
    parent = admin.post(f"/api/v1/requests/{rid}/approve", json={}).json()
    assert parent["sizing"]["duration_months"] == 3  # basic caps 4 -> 3 months
    before = datetime.fromisoformat(parent["expires_at"])

    r = client.post(
        f"/api/v1/requests/{rid}/followups",
        json={"kind": "extend", "reason": "season not over", "extra_months": 2},
    )
    assert r.status_code == 201, r.text
    ext = r.json()
    assert ext["parent_id"] == rid and ext["sizing"]["duration_months"] == 2
    admin.post(f"/api/v1/requests/{ext['id']}/approve", json={})
    after = client.get(f"/api/v1/requests/{rid}").json()
    assert datetime.fromisoformat(after["expires_at"]) - before == timedelta(days=60)
    assert after["sizing"]["duration_months"] == 5

    r = client.post(
        f"/api/v1/requests/{rid}/followups",
        json={
            "kind": "resize",
            "reason": "bigger",
            "support_level": "proficient",
            "processing_needs": "heavy",
            "data_volume_gb": 8000,
        },
    )
    rs = r.json()
    assert rs["sizing"]["total_cores"] == 8 and rs["sizing"]["disk_tb"] == 20.0
    admin.post(f"/api/v1/requests/{rs['id']}/approve", json={})
    resized = client.get(f"/api/v1/requests/{rid}").json()
    assert resized["support_level"] == "proficient" and resized["sizing"]["total_cores"] == 8
    assert resized["sizing"]["ram_per_core_gb"] == 8
    assert [f["id"] for f in client.get(f"/api/v1/requests/{rid}/followups").json()] == [
        ext["id"],
        rs["id"],
    ]


def test_sizing_caps_and_eligibility(app: Any, client: TestClient) -> None:
    register_verified(app, client, "caps@example.org")
    r = client.post("/api/v1/requests", json=request_body(datasets=["Landsat 8"]))
    bad = r.json()
    assert not bad["eligible"] and "Copernicus" in bad["eligibility_note"]
    admin = new_client(app)
    make_admin(app, admin)
    r = admin.post(f"/api/v1/requests/{bad['id']}/approve", json={})
    assert r.status_code == 409 and "not eligible" in r.json()["detail"]
    r = admin.post(f"/api/v1/requests/{bad['id']}/reject", json={"reason": ""})
    assert r.status_code == 422
    assert (
        admin.post(f"/api/v1/requests/{bad['id']}/reject", json={"reason": "Landsat only"}).json()[
            "state"
        ]
        == "rejected"
    )

    rid = client.post("/api/v1/requests", json=request_body(support_level="basic")).json()["id"]
    r = admin.patch(f"/api/v1/requests/{rid}/sizing", json={"cores_per_vm": 4})
    assert r.status_code == 422 and "cap" in r.json()["detail"]
    r = admin.patch(
        f"/api/v1/requests/{rid}/sizing", json={"support_level": "rnd", "cores_per_vm": 4}
    )
    assert r.status_code == 200 and r.json()["sizing"]["total_cores"] == 4


def test_desk_dashboard_and_csv(app: Any, client: TestClient) -> None:
    register_verified(app, client, "desk@example.org")
    ids = [client.post("/api/v1/requests", json=request_body()).json()["id"] for _ in range(3)]
    admin = new_client(app)
    make_admin(app, admin)
    admin.post(f"/api/v1/requests/{ids[0]}/approve", json={})
    admin.post(f"/api/v1/requests/{ids[1]}/reject", json={"reason": "duplicate"})
    d = admin.get("/api/v1/desk/dashboard").json()
    assert d["by_state"]["approved"] == 1 and d["by_state"]["rejected"] == 1
    assert d["by_state"]["submitted"] == 1 and d["active"] == 1
    assert d["totals"]["cores"] == 4 and d["totals"]["ram_gb"] == 16
    assert d["top_users"][0]["email"] == "desk@example.org"
    r = admin.get("/api/v1/desk/export.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.text.strip().splitlines()
    assert lines[0].startswith("id,parent_id,kind,owner_email") and len(lines) == 4
    from rus.db.models.requests import AuditEvent

    with db_session(app) as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == 5
