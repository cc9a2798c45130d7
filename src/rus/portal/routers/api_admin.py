"""``/api/v1`` Administration and Service Management desks (operators and admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from rus.portal.cache import TTLCache
from rus.portal.deps import AdminUser, NotifierDep, SessionDep, SettingsDep, StaffUser
from rus.services import accounts, desk, mail
from rus.services import requests as svc
from rus.services.schemas import (
    Decision,
    MailPublic,
    Page,
    RequestPublic,
    Role,
    SizingUpdate,
    UserPublic,
)

router = APIRouter(tags=["desks"])


class RoleIn(BaseModel):
    """A new role."""

    role: Role


def capacity(settings: SettingsDep) -> desk.Capacity:
    """Platform capacity from settings."""
    return desk.Capacity(
        settings.capacity_cores, settings.capacity_ram_gb, settings.capacity_disk_tb
    )


@router.patch("/requests/{request_id}/sizing", response_model=RequestPublic)
def adjust_sizing(
    request_id: int, data: SizingUpdate, admin: AdminUser, session: SessionDep
) -> RequestPublic:
    """Adjust the proposed sizing (admins; checked against the support level's caps)."""
    return svc.to_public(svc.adjust_sizing(session, admin, request_id, data))


@router.post("/requests/{request_id}/approve", response_model=RequestPublic)
def approve(
    request_id: int,
    data: Decision,
    admin: AdminUser,
    session: SessionDep,
    notifier: NotifierDep,
) -> RequestPublic:
    """Approve (admins only); the owner is notified."""
    return svc.to_public(svc.approve(session, admin, request_id, notifier, data.reason))


@router.post("/requests/{request_id}/reject", response_model=RequestPublic)
def reject(
    request_id: int,
    data: Decision,
    admin: AdminUser,
    session: SessionDep,
    notifier: NotifierDep,
) -> RequestPublic:
    """Reject with a reason (admins only); the owner is notified."""
    return svc.to_public(svc.reject(session, admin, request_id, data.reason, notifier))


@router.post("/requests/{request_id}/request-info", response_model=RequestPublic)
def request_info(
    request_id: int,
    data: Decision,
    staff: StaffUser,
    session: SessionDep,
    notifier: NotifierDep,
) -> RequestPublic:
    """Ask the owner for more information (operators and admins)."""
    return svc.to_public(svc.request_info(session, staff, request_id, data.reason, notifier))


@router.get("/admin/users", response_model=Page[UserPublic])
def users(
    staff: StaffUser, session: SessionDep, offset: int = 0, limit: int = 50, q: str = ""
) -> Page[UserPublic]:
    """Accounts (operators and admins), newest first, filtered by ``q`` in the email."""
    rows, total = accounts.list_users(session, staff, offset, min(limit, 200), q)
    items = [UserPublic.model_validate(u) for u in rows]
    return Page(items=items, total=total, offset=offset, limit=limit)


@router.put("/admin/users/{user_id}/role", response_model=UserPublic)
def set_role(user_id: int, data: RoleIn, admin: AdminUser, session: SessionDep) -> object:
    """Change a user's role (admins)."""
    return accounts.set_role(session, admin, user_id, data.role)


@router.get("/admin/mail", response_model=Page[MailPublic])
def mail_log(
    admin: AdminUser, session: SessionDep, offset: int = 0, limit: int = 50
) -> Page[MailPublic]:
    """The mail log (in development: the mail sink), newest first (admins)."""
    rows, total = mail.list_mail(session, offset, min(limit, 200))
    items = [MailPublic.model_validate(m) for m in rows]
    return Page(items=items, total=total, offset=offset, limit=limit)


def cached_dashboard(
    request: Request, staff: StaffUser, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    """The desk figures, recomputed at most every ``DESK_CACHE_TTL_S`` seconds per process."""
    cache: TTLCache = request.app.state.desk_cache
    figures: dict[str, Any] = cache.get_or_compute(
        "dashboard", lambda: desk.dashboard(session, staff, capacity(settings))
    )
    return figures


@router.get("/desk/dashboard")
def dashboard(
    request: Request, staff: StaffUser, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    """Service Management Desk figures: states, active/expiring environments, totals, usage.

    Figures are at most 10 s old (``as_of`` says when they were computed).
    """
    return cached_dashboard(request, staff, session, settings)


@router.get("/desk/export.csv")
def export_csv(staff: StaffUser, session: SessionDep) -> StreamingResponse:
    """Every request as CSV, for reporting (operators and admins)."""
    chunks = list(desk.export_csv(session, staff))
    name = f"rus-requests-{datetime.now():%Y%m%d}.csv"
    return StreamingResponse(
        iter(chunks),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
