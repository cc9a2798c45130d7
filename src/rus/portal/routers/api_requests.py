"""``/api/v1`` service requests as their owners use them (and staff read them)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, UploadFile
from pydantic import BaseModel, Field

from rus.portal.deps import CurrentUser, SessionDep, SettingsDep, cached_request_count
from rus.portal.uploads import read_upload_text
from rus.services import requests as svc
from rus.services.aoi import parse_aoi
from rus.services.schemas import (
    AuditPublic,
    FollowUpCreate,
    Page,
    RequestCreate,
    RequestPublic,
    RequestSummary,
    SizingPublic,
)
from rus.services.sizing import SizingInput, check_eligibility, propose_sizing

router = APIRouter(tags=["service requests"])
StateFilter = Literal["submitted", "info_requested", "approved", "rejected", "withdrawn"]


class Answer(BaseModel):
    """The owner's answer to an information request."""

    answer: str = Field(min_length=1, max_length=5000)


class AoiOut(BaseModel):
    """A checked AOI."""

    wkt: str


class SizingPreview(BaseModel):
    """What the automatic sizing would propose, and the eligibility verdict."""

    sizing: SizingPublic
    eligible: bool
    eligibility_note: str


def summary(req: object) -> RequestSummary:
    """List view of a request row."""
    return RequestSummary.model_validate(req, from_attributes=True)


@router.get("/requests", response_model=Page[RequestSummary])
def list_requests(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    offset: int = 0,
    limit: int = 25,
    state: StateFilter | None = None,
    mine: bool = False,
) -> Page[RequestSummary]:
    """Requests visible to the caller (own ones; all for operators/admins), newest first."""
    total = cached_request_count(request, session, user, state, mine)
    rows, total = svc.list_requests(session, user, offset, limit, state, mine, total)
    return Page(items=[summary(r) for r in rows], total=total, offset=offset, limit=limit)


@router.post("/requests", status_code=201, response_model=RequestPublic)
def create_request(data: RequestCreate, user: CurrentUser, session: SessionDep) -> RequestPublic:
    """File a service request; the answer carries the eligibility check and sizing proposal."""
    return svc.to_public(svc.create_request(session, user, data), user.email)


@router.post("/requests/sizing-preview", response_model=SizingPreview)
def sizing_preview(data: RequestCreate, user: CurrentUser) -> SizingPreview:
    """The sizing and eligibility a request would get, without filing it."""
    parse_aoi(data.aoi)
    s = propose_sizing(
        SizingInput(
            data.support_level,
            data.processing_needs,
            data.data_volume_gb,
            data.requested_months,
            data.n_users,
        )
    )
    ok, note = check_eligibility(data.datasets, data.copernicus_main_source)
    public = SizingPublic(
        **{k: getattr(s, k) for k in svc.SIZING_FIELDS},
        total_cores=s.total_cores,
        total_ram_gb=s.total_ram_gb,
        notes=list(s.notes),
    )
    return SizingPreview(sizing=public, eligible=ok, eligibility_note=note)


@router.post("/aoi", response_model=AoiOut)
async def check_aoi(file: UploadFile, user: CurrentUser, settings: SettingsDep) -> AoiOut:
    """Check an uploaded AOI file (GeoJSON or WKT text, size-limited) and return it as WKT."""
    text = await read_upload_text(file, settings.upload_max_bytes)
    return AoiOut(wkt=parse_aoi(text))


@router.get("/requests/{request_id}", response_model=RequestPublic)
def get_request(request_id: int, user: CurrentUser, session: SessionDep) -> RequestPublic:
    """One request (404 if it is not the caller's and the caller is not staff)."""
    return svc.to_public(svc.get_request(session, user, request_id))


@router.get("/requests/{request_id}/audit", response_model=list[AuditPublic])
def audit(request_id: int, user: CurrentUser, session: SessionDep) -> object:
    """The audit trail of one request."""
    return svc.audit_log(session, user, request_id)


@router.get("/requests/{request_id}/followups", response_model=list[RequestSummary])
def followups(request_id: int, user: CurrentUser, session: SessionDep) -> object:
    """Follow-ups filed against one request."""
    return [summary(r) for r in svc.followups_of(session, user, request_id)]


@router.post("/requests/{request_id}/followups", status_code=201, response_model=RequestPublic)
def create_followup(
    request_id: int, data: FollowUpCreate, user: CurrentUser, session: SessionDep
) -> RequestPublic:
    """Ask to extend or resize an approved request (goes through the same review)."""
    return svc.to_public(svc.create_followup(session, user, request_id, data))


@router.post("/requests/{request_id}/respond", response_model=RequestPublic)
def respond(request_id: int, data: Answer, user: CurrentUser, session: SessionDep) -> RequestPublic:
    """Answer an information request; the request returns to the review queue."""
    return svc.to_public(svc.respond(session, user, request_id, data.answer))


@router.post("/requests/{request_id}/withdraw", response_model=RequestPublic)
def withdraw(request_id: int, user: CurrentUser, session: SessionDep) -> RequestPublic:
    """Withdraw an undecided request."""
    return svc.to_public(svc.withdraw(session, user, request_id))
