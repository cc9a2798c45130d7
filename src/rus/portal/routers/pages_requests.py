"""Pages: the user's service requests, the request form (map/WKT/GeoJSON/upload AOI), detail."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from rus.portal.deps import CurrentUser, SessionDep, SettingsDep
from rus.portal.forms import FormDep, error_sentences, text, texts, upload
from rus.portal.rendering import flash, render
from rus.portal.routers.pages_auth import redirect
from rus.services import requests as svc
from rus.services.errors import ServiceError, TooLarge
from rus.services.schemas import FollowUpCreate, RequestCreate

router = APIRouter()
PAGE_SIZE = 25
DATASET_CHOICES = (
    "S1 GRD", "S1 SLC", "S2 L1C", "S2 L2A", "S3 OLCI", "S3 SLSTR", "S5P L2", "CLMS", "CAMS",
    "C3S", "CMEMS",
)  # fmt: skip
FORM_FIELDS = (
    "title", "description", "application_domain", "aoi", "period_start", "period_end",
    "data_volume_gb", "processing_needs", "software_needs", "requested_months", "n_users",
    "support_level", "other_datasets",
)  # fmt: skip


def paging(total: int, page: int, size: int = PAGE_SIZE) -> dict[str, int]:
    """Page numbers for templates (1-based)."""
    pages = max(1, -(-total // size))
    return {"page": min(max(page, 1), pages), "pages": pages, "total": total}


@router.get("/requests")
def my_requests(
    request: Request, user: CurrentUser, session: SessionDep, page: int = 1
) -> Response:
    """The caller's own requests, newest first, paginated."""
    page = max(page, 1)
    rows, total = svc.list_requests(session, user, (page - 1) * PAGE_SIZE, PAGE_SIZE, mine=True)
    return render(
        request, "requests.html", {"rows": rows, "paging": paging(total, page), "mine": True}
    )


@router.get("/requests/new")
def new_request_form(request: Request, user: CurrentUser) -> Response:
    """The service request form."""
    form = {"support_level": user.user_type, "requested_months": "3", "n_users": "1"}
    return render(request, "request_new.html", {"form": form, "choices": DATASET_CHOICES})


def _request_from_form(form: Any, aoi_text: str) -> RequestCreate:
    datasets = texts(form, "datasets") + [
        d.strip() for d in text(form, "other_datasets").split(",") if d.strip()
    ]
    return RequestCreate(
        title=text(form, "title"),
        description=text(form, "description"),
        application_domain=text(form, "application_domain"),
        datasets=datasets,
        copernicus_main_source=text(form, "copernicus_main_source") == "yes",
        aoi=aoi_text,
        period_start=text(form, "period_start"),  # type: ignore[arg-type]
        period_end=text(form, "period_end"),  # type: ignore[arg-type]
        data_volume_gb=text(form, "data_volume_gb") or "0",  # type: ignore[arg-type]
        processing_needs=text(form, "processing_needs") or "light",  # type: ignore[arg-type]
        software_needs=text(form, "software_needs"),
        requested_months=text(form, "requested_months") or "3",  # type: ignore[arg-type]
        n_users=text(form, "n_users") or "1",  # type: ignore[arg-type]
        support_level=text(form, "support_level") or "basic",  # type: ignore[arg-type]
    )


@router.post("/requests/new")
def create_request(
    request: Request, form: FormDep, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> Response:
    """File the request; on bad input show the form again with the reason (nothing saved)."""
    values: dict[str, Any] = {k: text(form, k) for k in FORM_FIELDS}
    values["datasets"] = texts(form, "datasets")
    values["copernicus_main_source"] = text(form, "copernicus_main_source")
    try:
        aoi_text = values["aoi"]
        file = upload(form, "aoi_file")
        if file is not None:
            data = file.file.read(settings.upload_max_bytes + 1)
            if len(data) > settings.upload_max_bytes:
                raise TooLarge(
                    f"AOI file {file.filename} is larger than the limit of "
                    f"{settings.upload_max_bytes:,} bytes"
                )
            aoi_text = data.decode("utf-8", errors="replace")
        req = svc.create_request(session, user, _request_from_form(form, aoi_text))
    except (ValidationError, ServiceError) as exc:
        session.rollback()
        from rus.portal.errors import status_for

        message = error_sentences(exc) if isinstance(exc, ValidationError) else str(exc)
        status = 422 if isinstance(exc, ValidationError) else status_for(exc)
        return render(
            request,
            "request_new.html",
            {"form": values, "choices": DATASET_CHOICES, "error": message},
            status_code=status,
        )
    flash(request, f"Request #{req.id} filed: see the proposed sizing below.", "success")
    return redirect(f"/requests/{req.id}")


@router.post("/requests/preview")
def sizing_preview(request: Request, form: FormDep, user: CurrentUser) -> Response:
    """HTML fragment (htmx) with the sizing the form's current values would get."""
    from rus.services.sizing import SizingInput, check_eligibility, propose_sizing

    datasets = texts(form, "datasets") + [
        d.strip() for d in text(form, "other_datasets").split(",") if d.strip()
    ]
    try:
        sizing = propose_sizing(
            SizingInput(
                support_level=text(form, "support_level") or "basic",
                processing_needs=text(form, "processing_needs") or "light",
                data_volume_gb=float(text(form, "data_volume_gb") or 0),
                requested_months=int(text(form, "requested_months") or 1),
                n_users=int(text(form, "n_users") or 1),
            )
        )
    except (ValueError, ServiceError) as exc:
        return render(request, "_sizing_preview.html", {"error": str(exc)})
    ok, note = check_eligibility(datasets, text(form, "copernicus_main_source") == "yes")
    return render(request, "_sizing_preview.html", {"s": sizing, "eligible": ok, "note": note})


@router.get("/requests/{request_id}")
def request_detail(
    request: Request, request_id: int, user: CurrentUser, session: SessionDep
) -> Response:
    """One request: data, eligibility, sizing, follow-ups, audit log, and the allowed actions."""
    req = svc.get_request(session, user, request_id)
    from rus.services.accounts import get_user

    return render(
        request,
        "request_detail.html",
        {
            "req": req,
            "pub": svc.to_public(req),
            "owner": get_user(session, req.owner_id),
            "audit": svc.audit_log(session, user, request_id),
            "followups": svc.followups_of(session, user, request_id),
            "is_owner": req.owner_id == user.id,
        },
    )


@router.post("/requests/{request_id}/followup")
def followup(
    request: Request, request_id: int, form: FormDep, user: CurrentUser, session: SessionDep
) -> Response:
    """File a follow-up (extend or resize)."""
    try:
        data = FollowUpCreate(
            kind=text(form, "kind") or "extend",  # type: ignore[arg-type]
            reason=text(form, "reason"),
            extra_months=text(form, "extra_months") or "0",  # type: ignore[arg-type]
            support_level=text(form, "support_level") or None,  # type: ignore[arg-type]
            data_volume_gb=text(form, "data_volume_gb") or None,  # type: ignore[arg-type]
            processing_needs=text(form, "processing_needs") or None,  # type: ignore[arg-type]
            n_users=text(form, "n_users") or None,  # type: ignore[arg-type]
        )
        req = svc.create_followup(session, user, request_id, data)
    except (ValidationError, ServiceError) as exc:
        session.rollback()
        msg = error_sentences(exc) if isinstance(exc, ValidationError) else str(exc)
        flash(request, f"Follow-up not filed: {msg}", "error")
        return redirect(f"/requests/{request_id}")
    flash(request, f"Follow-up #{req.id} filed.", "success")
    return redirect(f"/requests/{req.id}")


@router.post("/requests/{request_id}/respond")
def respond(
    request: Request, request_id: int, form: FormDep, user: CurrentUser, session: SessionDep
) -> Response:
    """Answer an information request."""
    svc.respond(session, user, request_id, text(form, "answer"))
    flash(request, "Answer sent; the request is back in the review queue.", "success")
    return redirect(f"/requests/{request_id}")


@router.post("/requests/{request_id}/withdraw")
def withdraw(request: Request, request_id: int, user: CurrentUser, session: SessionDep) -> Response:
    """Withdraw an undecided request."""
    svc.withdraw(session, user, request_id)
    flash(request, "Request withdrawn.", "success")
    return redirect(f"/requests/{request_id}")
