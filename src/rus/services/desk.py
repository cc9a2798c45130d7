"""Service Management Desk: requests by state, active and expiring environments, resource totals
against capacity, usage per user, and the CSV export for reporting.

An *active environment* is an approved original request (not a follow-up) whose ``expires_at`` is
in the future; its resources are ``vms * cores_per_vm`` cores, ``cores * ram_per_core_gb`` GB RAM
and ``disk_tb`` TB disk.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rus.db.base import utcnow
from rus.db.models.accounts import User
from rus.db.models.requests import STATES, ServiceRequest
from rus.services.accounts import require_role

EXPIRING_DAYS = 30
CSV_COLUMNS = (
    "id", "parent_id", "kind", "owner_email", "title", "state", "support_level", "eligible",
    "vms", "cores_per_vm", "ram_per_core_gb", "disk_tb", "duration_months", "support_hours",
    "created_at", "decided_at", "expires_at",
)  # fmt: skip


@dataclass(frozen=True)
class Capacity:
    """What the platform can give out."""

    cores: int = 512
    ram_gb: int = 4096
    disk_tb: float = 500.0


def _active(now: Any) -> list[Any]:
    return [
        ServiceRequest.state == "approved",
        ServiceRequest.parent_id.is_(None),
        ServiceRequest.expires_at > now,
    ]


def dashboard(session: Session, actor: User, capacity: Capacity, top: int = 10) -> dict[str, Any]:
    """Figures of the Service Management Desk (operators and admins).

    Returns
    -------
    dict
        ``by_state`` (count per state), ``users`` (count), ``active`` (environments),
        ``expiring`` (up to ``top`` environments expiring within 30 days), ``totals`` (cores,
        ram_gb, disk_tb in use and the capacity, with percentages), ``top_users`` (usage per user,
        most cores first).
    """
    require_role(actor, "admin", "operator")
    now = utcnow()
    by_state = {s: 0 for s in STATES}
    for state, count in session.execute(
        select(ServiceRequest.state, func.count()).group_by(ServiceRequest.state)
    ):
        by_state[state] = int(count)
    cores = ServiceRequest.vms * ServiceRequest.cores_per_vm
    ram = cores * ServiceRequest.ram_per_core_gb
    row = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(cores), 0),
            func.coalesce(func.sum(ram), 0),
            func.coalesce(func.sum(ServiceRequest.disk_tb), 0.0),
        ).where(*_active(now))
    ).one()
    active, used_cores, used_ram, used_disk = int(row[0]), int(row[1]), int(row[2]), float(row[3])
    expiring = session.execute(
        select(ServiceRequest.id, ServiceRequest.title, ServiceRequest.expires_at, User.email)
        .join(User, User.id == ServiceRequest.owner_id)
        .where(*_active(now), ServiceRequest.expires_at <= now + timedelta(days=EXPIRING_DAYS))
        .order_by(ServiceRequest.expires_at)
        .limit(top)
    ).all()
    per_owner = session.execute(
        select(
            ServiceRequest.owner_id, func.count(), func.sum(cores), func.sum(ServiceRequest.disk_tb)
        )
        .where(*_active(now))
        .group_by(ServiceRequest.owner_id)
        .order_by(func.sum(cores).desc(), ServiceRequest.owner_id)
        .limit(top)
    ).all()
    emails = dict(
        session.execute(
            select(User.id, User.email).where(User.id.in_([r[0] for r in per_owner]))
        ).all()
    )
    n_users = session.scalar(select(func.count()).select_from(User)) or 0

    def pct(used: float, cap: float) -> float:
        return round(100.0 * used / cap, 1) if cap else 0.0

    return {
        "as_of": now,
        "by_state": by_state,
        "users": int(n_users),
        "active": active,
        "expiring": [
            {"id": r[0], "title": r[1], "expires_at": r[2], "owner_email": r[3]} for r in expiring
        ],
        "totals": {
            "cores": used_cores,
            "cores_capacity": capacity.cores,
            "cores_pct": pct(used_cores, capacity.cores),
            "ram_gb": used_ram,
            "ram_gb_capacity": capacity.ram_gb,
            "ram_pct": pct(used_ram, capacity.ram_gb),
            "disk_tb": round(used_disk, 3),
            "disk_tb_capacity": capacity.disk_tb,
            "disk_pct": pct(used_disk, capacity.disk_tb),
        },
        "top_users": [
            {
                "email": emails.get(r[0], "?"),
                "environments": int(r[1]),
                "cores": int(r[2]),
                "disk_tb": float(r[3]),
            }
            for r in per_owner
        ],
    }


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else value


def export_csv(session: Session, actor: User, batch: int = 2000) -> Iterator[str]:
    """Every request as CSV text chunks (header first), for reporting (operators and admins)."""
    require_role(actor, "admin", "operator")
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    last_id = 0
    while True:
        rows = session.execute(
            select(ServiceRequest, User.email)
            .join(User, User.id == ServiceRequest.owner_id)
            .where(ServiceRequest.id > last_id)
            .order_by(ServiceRequest.id)
            .limit(batch)
        ).all()
        for req, email in rows:
            values = {c: getattr(req, c, None) for c in CSV_COLUMNS}
            values["owner_email"] = email
            writer.writerow([_cell(v) for v in values.values()])
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
        if len(rows) < batch:
            return
        last_id = rows[-1][0].id
