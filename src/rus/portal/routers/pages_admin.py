"""Pages: Administration Desk (review queue, sizing, decisions, users, mail sink) and Service
Management Desk (dashboard, CSV export)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from rus.portal.deps import (
    AdminUser,
    NotifierDep,
    SessionDep,
    SettingsDep,
    StaffUser,
    cached_request_count,
)
from rus.portal.forms import FormDep, error_sentences, text
from rus.portal.rendering import flash, render
from rus.portal.routers.api_admin import cached_dashboard, export_csv
from rus.portal.routers.pages_auth import redirect
from rus.portal.routers.pages_requests import PAGE_SIZE, paging
from rus.services import accounts, mail
from rus.services import requests as svc
from rus.services.errors import ServiceError
from rus.services.schemas import SizingUpdate

router = APIRouter()
STATE_FILTERS = ("submitted", "info_requested", "approved", "rejected", "withdrawn")


@router.get("/admin/requests")
def queue(
    request: Request,
    staff: StaffUser,
    session: SessionDep,
    state: str = "submitted",
    page: int = 1,
) -> Response:
    """The review queue (default: submitted requests, oldest last), any state on demand."""
    state_filter = state if state in STATE_FILTERS else None
    page = max(page, 1)
    total = cached_request_count(request, session, staff, state_filter)
    rows, total = svc.list_requests(
        session, staff, (page - 1) * PAGE_SIZE, PAGE_SIZE, state=state_filter, total=total
    )
    return render(
        request,
        "admin_requests.html",
        {
            "rows": rows,
            "state": state_filter or "all",
            "states": STATE_FILTERS,
            "paging": paging(total, page),
        },
    )


@router.post("/admin/requests/{request_id}/sizing")
def adjust(
    request: Request, request_id: int, form: FormDep, admin: AdminUser, session: SessionDep
) -> Response:
    """Save an adjusted sizing."""
    fields = ("support_level", "vms", "cores_per_vm", "ram_per_core_gb", "disk_tb",
              "duration_months", "support_hours")  # fmt: skip
    try:
        update = SizingUpdate(**{k: text(form, k) or None for k in fields})
        svc.adjust_sizing(session, admin, request_id, update)
    except (ValidationError, ServiceError) as exc:
        session.rollback()
        msg = error_sentences(exc) if isinstance(exc, ValidationError) else str(exc)
        flash(request, f"Sizing not changed: {msg}", "error")
    else:
        flash(request, "Sizing adjusted (recorded in the audit log).", "success")
    return redirect(f"/requests/{request_id}")


@router.post("/admin/requests/{request_id}/decide")
def decide(
    request: Request,
    request_id: int,
    form: FormDep,
    staff: StaffUser,
    session: SessionDep,
    notifier: NotifierDep,
) -> Response:
    """Approve, reject or request information (``action`` field)."""
    action, reason = text(form, "action"), text(form, "reason")
    try:
        if action == "approve":
            svc.approve(session, staff, request_id, notifier, reason)
        elif action == "reject":
            svc.reject(session, staff, request_id, reason, notifier)
        elif action == "info":
            svc.request_info(session, staff, request_id, reason, notifier)
        else:
            raise ServiceError(f"unknown action {action!r}")
    except ServiceError as exc:
        session.rollback()
        flash(request, f"Not done: {exc}", "error")
    else:
        flash(request, f"Request #{request_id}: {action} done; the user was notified.", "success")
    return redirect(f"/requests/{request_id}")


@router.get("/admin/users")
def users(
    request: Request, staff: StaffUser, session: SessionDep, q: str = "", page: int = 1
) -> Response:
    """Accounts, newest first."""
    page = max(page, 1)
    rows, total = accounts.list_users(session, staff, (page - 1) * PAGE_SIZE, PAGE_SIZE, q)
    return render(
        request, "admin_users.html", {"rows": rows, "q": q, "paging": paging(total, page)}
    )


@router.post("/admin/users/{user_id}/role")
def set_role(
    request: Request, user_id: int, form: FormDep, admin: AdminUser, session: SessionDep
) -> Response:
    """Change a user's role."""
    try:
        user = accounts.set_role(session, admin, user_id, text(form, "role"))
    except ServiceError as exc:
        session.rollback()
        flash(request, f"Role not changed: {exc}", "error")
    else:
        flash(request, f"{user.email} is now {user.role}.", "success")
    return redirect("/admin/users")


@router.get("/admin/mail")
def mail_sink(request: Request, admin: AdminUser, session: SessionDep, page: int = 1) -> Response:
    """Messages sent by the portal (the development mail sink)."""
    page = max(page, 1)
    rows, total = mail.list_mail(session, (page - 1) * PAGE_SIZE, PAGE_SIZE)
    return render(request, "admin_mail.html", {"rows": rows, "paging": paging(total, page)})


@router.get("/desk")
def dashboard(
    request: Request, staff: StaffUser, session: SessionDep, settings: SettingsDep
) -> Response:
    """Service Management Desk dashboard."""
    figures = cached_dashboard(request, staff, session, settings)
    return render(request, "desk.html", {"d": figures})


router.add_api_route("/desk/export.csv", export_csv, methods=["GET"])
