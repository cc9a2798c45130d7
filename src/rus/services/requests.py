"""Service requests: filing, visibility, the review state machine, follow-ups and the audit log.

States and who moves them (anything else raises ``Conflict``)::

    submitted       --approve (admin)-->          approved
    submitted       --reject (admin)-->           rejected
    submitted       --request_info (operator)-->  info_requested
    info_requested  --respond (owner)-->          submitted
    submitted/info_requested --withdraw (owner)--> withdrawn

A user only ever sees their own requests (others' answer ``NotFound``, never revealing that they
exist); operators and admins see all. Every change writes an ``AuditEvent``; decisions notify the
owner in the portal and by email.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy import Executable, Integer, bindparam, func, select
from sqlalchemy.orm import Session

from rus.db.base import utcnow
from rus.db.models.accounts import User
from rus.db.models.requests import AuditEvent, ServiceRequest
from rus.services.accounts import get_user, require_role
from rus.services.aoi import parse_aoi
from rus.services.errors import Conflict, NotFound, ValidationFailed
from rus.services.mail import MailConfig
from rus.services.notifications import notify
from rus.services.schemas import (
    FollowUpCreate,
    RequestCreate,
    RequestPublic,
    SizingPublic,
    SizingUpdate,
)
from rus.services.sizing import (
    Sizing,
    SizingInput,
    check_eligibility,
    propose_sizing,
    validate_sizing,
)

STAFF_ROLES = ("admin", "operator")
DAYS_PER_MONTH = 30
SIZING_FIELDS = (
    "vms",
    "cores_per_vm",
    "ram_per_core_gb",
    "disk_tb",
    "duration_months",
    "support_hours",
)


@dataclass(frozen=True)
class Notifier:
    """Where decision notices go (mail settings and the portal URL for links)."""

    mail: MailConfig
    base_url: str = ""


def is_staff(user: User) -> bool:
    """Whether ``user`` may see every request (operators and admins)."""
    return user.role in STAFF_ROLES


def _audit(
    session: Session, req: ServiceRequest | None, actor: User | None, action: str, **detail: Any
) -> None:
    session.add(
        AuditEvent(
            request_id=req.id if req is not None else None,
            actor_id=actor.id if actor is not None else None,
            action=action,
            detail=detail,
        )
    )


def sizing_of(req: ServiceRequest) -> Sizing:
    """The sizing currently stored on ``req``."""
    return Sizing(
        req.vms,
        req.cores_per_vm,
        req.ram_per_core_gb,
        req.disk_tb,
        req.duration_months,
        req.support_hours,
        tuple(req.sizing_notes or ()),
    )


def _apply_sizing(req: ServiceRequest, sizing: Sizing) -> None:
    for name in SIZING_FIELDS:
        setattr(req, name, getattr(sizing, name))
    req.sizing_notes = list(sizing.notes)


def to_public(req: ServiceRequest, owner_email: str | None = None) -> RequestPublic:
    """The API view of ``req``."""
    s = sizing_of(req)
    sizing = SizingPublic(
        vms=s.vms,
        cores_per_vm=s.cores_per_vm,
        ram_per_core_gb=s.ram_per_core_gb,
        disk_tb=s.disk_tb,
        duration_months=s.duration_months,
        support_hours=s.support_hours,
        total_cores=s.total_cores,
        total_ram_gb=s.total_ram_gb,
        notes=list(s.notes),
    )
    fields = {k: getattr(req, k) for k in RequestPublic.model_fields if hasattr(req, k)}
    fields.pop("sizing", None)
    fields["owner_email"] = owner_email
    return RequestPublic(sizing=sizing, **fields)


def _size(req: ServiceRequest) -> None:
    sizing = propose_sizing(
        SizingInput(
            support_level=req.support_level,
            processing_needs=req.processing_needs,
            data_volume_gb=req.data_volume_gb,
            requested_months=req.requested_months,
            n_users=req.n_users,
        )
    )
    _apply_sizing(req, sizing)
    req.eligible, req.eligibility_note = check_eligibility(
        list(req.datasets), req.copernicus_main_source
    )


def create_request(session: Session, owner: User, data: RequestCreate) -> ServiceRequest:
    """File a new request: check the AOI, the eligibility and propose a sizing.

    Raises ``ValidationFailed`` (invalid AOI, empty dataset names); nothing is written then.
    """
    datasets = [d.strip() for d in data.datasets if d.strip()]
    if not datasets:
        raise ValidationFailed("list at least one dataset (e.g. 'S2 L2A')")
    req = ServiceRequest(
        owner_id=owner.id,
        kind="new",
        title=data.title.strip(),
        description=data.description.strip(),
        application_domain=data.application_domain.strip(),
        datasets=datasets,
        copernicus_main_source=data.copernicus_main_source,
        aoi_wkt=parse_aoi(data.aoi),
        period_start=data.period_start,
        period_end=data.period_end,
        data_volume_gb=data.data_volume_gb,
        processing_needs=data.processing_needs,
        software_needs=data.software_needs.strip(),
        requested_months=data.requested_months,
        n_users=data.n_users,
        support_level=data.support_level,
        state="submitted",
    )
    _size(req)
    session.add(req)
    session.flush()
    _audit(session, req, owner, "created", eligible=req.eligible, sizing=_sizing_dict(req))
    return req


def _sizing_dict(req: ServiceRequest) -> dict[str, Any]:
    return {name: getattr(req, name) for name in SIZING_FIELDS}


def get_request(session: Session, user: User, request_id: int) -> ServiceRequest:
    """Request ``request_id`` if ``user`` may see it, else ``NotFound``."""
    req = session.get(ServiceRequest, request_id)
    if req is None or (req.owner_id != user.id and not is_staff(user)):
        raise NotFound(f"service request {request_id} not found")
    return req


def _by_owner(user: User, mine: bool) -> bool:
    return mine or not is_staff(user)


def _list_conditions(by_owner: bool, by_state: bool) -> list[Any]:
    conds: list[Any] = []
    if by_owner:
        conds.append(ServiceRequest.owner_id == bindparam("owner_id"))
    if by_state:
        conds.append(ServiceRequest.state == bindparam("state"))
    return conds


@cache
def _count_statement(by_owner: bool, by_state: bool) -> Executable:
    """The count query of one list shape, built once (values come as bound parameters)."""
    conds = _list_conditions(by_owner, by_state)
    return select(func.count()).select_from(ServiceRequest).where(*conds)


@cache
def _page_statement(by_owner: bool, by_state: bool) -> Executable:
    """The page query of one list shape, built once (values come as bound parameters).

    A deferred join: it pages through the index alone, then fetches the page's rows and owners.
    """
    conds = _list_conditions(by_owner, by_state)
    order = (ServiceRequest.created_at.desc(), ServiceRequest.id.desc())
    page_ids = (
        select(ServiceRequest.id)
        .where(*conds)
        .order_by(*order)
        .offset(bindparam("offset", type_=Integer))
        .limit(bindparam("limit", type_=Integer))
    ).scalar_subquery()
    return (
        select(*SUMMARY_COLUMNS, User.email.label("owner_email"))
        .join(User, User.id == ServiceRequest.owner_id)
        .where(ServiceRequest.id.in_(page_ids))
        .order_by(*order)
    )


def count_requests(
    session: Session, user: User, state: str | None = None, mine: bool = False
) -> int:
    """How many requests ``list_requests`` would page through (same visibility rules)."""
    stmt = _count_statement(_by_owner(user, mine), bool(state))
    params = {"owner_id": user.id, "state": state}
    return session.connection().execute(stmt, params).scalar() or 0


SUMMARY_COLUMNS = (
    ServiceRequest.id,
    ServiceRequest.title,
    ServiceRequest.kind,
    ServiceRequest.state,
    ServiceRequest.support_level,
    ServiceRequest.owner_id,
    ServiceRequest.created_at,
    ServiceRequest.expires_at,
)


def list_requests(
    session: Session,
    user: User,
    offset: int = 0,
    limit: int = 25,
    state: str | None = None,
    mine: bool = False,
    total: int | None = None,
) -> tuple[list[Any], int]:
    """Requests visible to ``user`` (newest first, paginated) and their total count.

    Rows carry the summary columns (``id``, ``title``, ``kind``, ``state``, ``support_level``,
    ``owner_id``, ``owner_email``, ``created_at``, ``expires_at``), not whole requests: lists
    stay cheap with tens of thousands of requests. ``total``, when the caller already knows it
    (a cached ``count_requests``), skips the count query. Both queries are built once per list
    shape and run as plain SQL on the session's connection (no ORM loading: rows are columns).
    """
    if limit < 1 or limit > 200 or offset < 0:
        raise ValidationFailed("limit must be 1..200 and offset >= 0")
    if total is None:
        total = count_requests(session, user, state, mine)
    stmt = _page_statement(_by_owner(user, mine), bool(state))
    params = {"owner_id": user.id, "state": state, "offset": offset, "limit": limit}
    rows = session.connection().execute(stmt, params).all()
    return list(rows), total


def _require_state(req: ServiceRequest, *states: str) -> None:
    if req.state not in states:
        raise Conflict(
            f"service request {req.id} is {req.state}; this needs it to be {' or '.join(states)}"
        )


def _notify_owner(
    session: Session, notifier: Notifier, req: ServiceRequest, subject: str, body: str
) -> None:
    owner = get_user(session, req.owner_id)
    notify(
        session,
        notifier.mail,
        owner,
        subject,
        body,
        link=f"/requests/{req.id}",
        base_url=notifier.base_url,
    )


def adjust_sizing(
    session: Session, admin: User, request_id: int, update: SizingUpdate
) -> ServiceRequest:
    """Change the proposed sizing (admins); checked against the (possibly new) level's caps."""
    require_role(admin, "admin")
    req = get_request(session, admin, request_id)
    _require_state(req, "submitted", "info_requested")
    before = _sizing_dict(req) | {"support_level": req.support_level}
    changes = update.model_dump(exclude_none=True)
    level = changes.pop("support_level", req.support_level)
    current = sizing_of(req)
    values = {name: changes.get(name, getattr(current, name)) for name in SIZING_FIELDS}
    new = validate_sizing(Sizing(**values, notes=("adjusted by an administrator",)), level)
    req.support_level = level
    _apply_sizing(req, new)
    after = _sizing_dict(req) | {"support_level": req.support_level}
    _audit(session, req, admin, "sizing_adjusted", before=before, after=after)
    return req


def approve(
    session: Session, admin: User, request_id: int, notifier: Notifier, note: str = ""
) -> ServiceRequest:
    """Approve (admins only): open the environment, or apply a follow-up to its parent."""
    require_role(admin, "admin")
    req = get_request(session, admin, request_id)
    _require_state(req, "submitted")
    if not req.eligible:
        raise Conflict(
            f"service request {req.id} is not eligible ({req.eligibility_note}); reject it "
            "or request more information"
        )
    validate_sizing(sizing_of(req), req.support_level)
    now = utcnow()
    req.state, req.decided_at, req.decision_reason = "approved", now, note.strip()
    if req.parent_id is None:
        req.expires_at = now + timedelta(days=DAYS_PER_MONTH * req.duration_months)
    else:
        _apply_followup(session, admin, req)
    _audit(session, req, admin, "approved", note=note.strip(), sizing=_sizing_dict(req))
    _notify_owner(
        session,
        notifier,
        req,
        f"Request #{req.id} approved",
        f"Your service request '{req.title}' was approved: {req.vms} VM(s) x "
        f"{req.cores_per_vm} cores, {req.ram_per_core_gb} GB RAM per core, {req.disk_tb:g} TB "
        f"disk, {req.duration_months} months, {req.support_hours} support hours."
        + (f"\nNote: {note.strip()}" if note.strip() else ""),
    )
    return req


def _apply_followup(session: Session, admin: User, req: ServiceRequest) -> None:
    parent = session.get(ServiceRequest, req.parent_id)
    if parent is None or parent.state != "approved":
        raise Conflict(f"the parent of follow-up {req.id} is no longer approved")
    before = _sizing_dict(parent) | {"expires_at": str(parent.expires_at)}
    if req.kind == "extend":
        base = max(parent.expires_at or utcnow(), utcnow())
        parent.expires_at = base + timedelta(days=DAYS_PER_MONTH * req.duration_months)
        parent.duration_months += req.duration_months
    else:
        parent.support_level = req.support_level
        for name in SIZING_FIELDS:
            if name != "duration_months":
                setattr(parent, name, getattr(req, name))
        parent.sizing_notes = [*req.sizing_notes, f"resized by follow-up #{req.id}"]
    after = _sizing_dict(parent) | {"expires_at": str(parent.expires_at)}
    _audit(session, parent, admin, f"followup_{req.kind}_applied", followup=req.id,
           before=before, after=after)  # fmt: skip


def reject(
    session: Session, admin: User, request_id: int, reason: str, notifier: Notifier
) -> ServiceRequest:
    """Reject with a reason (admins only); the owner is notified."""
    require_role(admin, "admin")
    if not reason.strip():
        raise ValidationFailed("give the user a reason for the rejection")
    req = get_request(session, admin, request_id)
    _require_state(req, "submitted", "info_requested")
    req.state, req.decided_at, req.decision_reason = "rejected", utcnow(), reason.strip()
    _audit(session, req, admin, "rejected", reason=reason.strip())
    _notify_owner(
        session, notifier, req, f"Request #{req.id} rejected", f"Reason: {reason.strip()}"
    )
    return req


def request_info(
    session: Session, staff: User, request_id: int, question: str, notifier: Notifier
) -> ServiceRequest:
    """Ask the owner for more information (operators and admins)."""
    require_role(staff, *STAFF_ROLES)
    if not question.strip():
        raise ValidationFailed("say what information is needed")
    req = get_request(session, staff, request_id)
    _require_state(req, "submitted")
    req.state, req.decision_reason = "info_requested", question.strip()
    _audit(session, req, staff, "info_requested", question=question.strip())
    _notify_owner(
        session,
        notifier,
        req,
        f"Request #{req.id}: more information needed",
        question.strip(),
    )
    return req


def respond(session: Session, owner: User, request_id: int, answer: str) -> ServiceRequest:
    """The owner answers an information request; the request returns to the queue."""
    req = get_request(session, owner, request_id)
    if req.owner_id != owner.id:
        raise NotFound(f"service request {request_id} not found")
    _require_state(req, "info_requested")
    if not answer.strip():
        raise ValidationFailed("the answer is empty")
    req.state = "submitted"
    req.description = f"{req.description}\n\n[answer {utcnow():%Y-%m-%d}] {answer.strip()}"
    _audit(session, req, owner, "responded", answer=answer.strip())
    return req


def withdraw(session: Session, owner: User, request_id: int) -> ServiceRequest:
    """The owner withdraws an undecided request."""
    req = get_request(session, owner, request_id)
    if req.owner_id != owner.id:
        raise NotFound(f"service request {request_id} not found")
    _require_state(req, "submitted", "info_requested")
    req.state = "withdrawn"
    _audit(session, req, owner, "withdrawn")
    return req


def create_followup(
    session: Session, owner: User, parent_id: int, data: FollowUpCreate
) -> ServiceRequest:
    """File a follow-up that extends (``extra_months``) or resizes an approved request."""
    parent = get_request(session, owner, parent_id)
    if parent.owner_id != owner.id:
        raise NotFound(f"service request {parent_id} not found")
    _require_state(parent, "approved")
    if parent.parent_id is not None:
        raise Conflict("file follow-ups against the original request, not a follow-up")
    if data.kind == "extend" and data.extra_months < 1:
        raise ValidationFailed("an extension needs extra_months >= 1")
    req = ServiceRequest(
        owner_id=owner.id,
        parent_id=parent.id,
        kind=data.kind,
        title=f"{data.kind.capitalize()}: {parent.title}"[:200],
        description=data.reason.strip(),
        application_domain=parent.application_domain,
        datasets=list(parent.datasets),
        copernicus_main_source=parent.copernicus_main_source,
        aoi_wkt=parent.aoi_wkt,
        period_start=parent.period_start,
        period_end=parent.period_end,
        data_volume_gb=(
            parent.data_volume_gb if data.data_volume_gb is None else data.data_volume_gb
        ),
        processing_needs=data.processing_needs or parent.processing_needs,
        software_needs=parent.software_needs,
        requested_months=data.extra_months if data.kind == "extend" else parent.requested_months,
        n_users=data.n_users or parent.n_users,
        support_level=data.support_level or parent.support_level,
        state="submitted",
    )  # fmt: skip
    _size(req)
    session.add(req)
    session.flush()
    _audit(session, req, owner, "followup_created", parent=parent.id, kind=data.kind)
    return req


def audit_log(session: Session, user: User, request_id: int) -> list[AuditEvent]:
    """The audit trail of a request the user may see, oldest first."""
    req = get_request(session, user, request_id)
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.request_id == req.id).order_by(AuditEvent.id)
        ).all()
    )


def followups_of(session: Session, user: User, request_id: int) -> list[ServiceRequest]:
    """Follow-ups filed against a request visible to ``user``."""
    req = get_request(session, user, request_id)
    return list(
        session.scalars(
            select(ServiceRequest)
            .where(ServiceRequest.parent_id == req.id)
            .order_by(ServiceRequest.id)
        ).all()
    )
