"""Pages: home, registration, email verification, login/logout, password reset, profile."""

from __future__ import annotations

from urllib.parse import urlparse

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from rus.portal.deps import (
    Csrf,
    CurrentUser,
    MailDep,
    OptionalUser,
    PolicyDep,
    SessionDep,
    login_session,
)
from rus.portal.forms import FormDep, error_sentences, text
from rus.portal.rendering import flash, render
from rus.services import accounts, notifications
from rus.services.errors import ServiceError
from rus.services.schemas import UserCreate, UserUpdate

router = APIRouter()
PROFILE_FIELDS = ("full_name", "organisation", "country", "thematic_domain", "user_type")


def redirect(url: str) -> RedirectResponse:
    """A 303 See Other (after a POST)."""
    return RedirectResponse(url, status_code=303)


def _safe_next(target: str) -> str:
    """Only local paths are followed after login (no open redirect)."""
    parsed = urlparse(target)
    if (
        target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not parsed.netloc
    ):
        return target
    return "/requests"


@router.get("/")
def home(request: Request, user: OptionalUser) -> Response:
    """Landing page: what RUS offers, the support levels, where to start."""
    from rus.services.sizing import LEVELS

    return render(request, "home.html", {"levels": LEVELS})


@router.get("/register")
def register_form(request: Request, user: OptionalUser) -> Response:
    """The registration form."""
    return render(request, "register.html", {"form": {}})


@router.post("/register")
def register(
    request: Request,
    form: FormDep,
    _csrf: Csrf,
    session: SessionDep,
    mail: MailDep,
    policy: PolicyDep,
) -> Response:
    """Create the account and send the verification link."""
    values = {k: text(form, k) for k in ("email", "password", *PROFILE_FIELDS)}
    values["user_type"] = values["user_type"] or "basic"
    try:
        if values["password"] != text(form, "password2"):
            raise ServiceError("the two passwords differ")
        accounts.register_user(session, UserCreate(**values), mail, policy)
    except (ValidationError, ServiceError) as exc:
        session.rollback()
        message = error_sentences(exc) if isinstance(exc, ValidationError) else str(exc)
        values.pop("password")
        return render(request, "register.html", {"form": values, "error": message}, status_code=400)
    return render(request, "message.html", {
        "title": "Check your email",
        "message": f"We sent a confirmation link to {values['email'].lower()}. "
        "Open it to activate your account.",
    })  # fmt: skip


@router.get("/verify")
def verify(request: Request, session: SessionDep, token: str = "") -> Response:
    """Follow the email link: activate the account (clear message for bad/expired links)."""
    try:
        user = accounts.verify_email(session, token)
    except ServiceError as exc:
        session.rollback()
        return render(
            request,
            "message.html",
            {"title": "Link not valid", "message": str(exc), "resend": True},
            status_code=400,
        )
    flash(request, f"Email {user.email} confirmed: you can log in now.", "success")
    return redirect("/login")


@router.post("/verify/resend")
def resend(
    request: Request, form: FormDep, _csrf: Csrf, session: SessionDep, mail: MailDep,
    policy: PolicyDep,
) -> Response:  # fmt: skip
    """Send a fresh verification link."""
    accounts.resend_verification(session, text(form, "email"), mail, policy)
    flash(request, "If that address is registered and unconfirmed, a new link is on its way.")
    return redirect("/login")


@router.get("/login")
def login_form(request: Request, user: OptionalUser, next: str = "/requests") -> Response:
    """The login form."""
    return render(request, "login.html", {"next": _safe_next(next), "email": ""})


@router.post("/login")
def login(
    request: Request, form: FormDep, _csrf: Csrf, session: SessionDep, policy: PolicyDep
) -> Response:
    """Check the credentials (rate-limited) and open a session."""
    email, target = text(form, "email"), _safe_next(text(form, "next", "/requests"))
    client = request.client.host if request.client else ""
    try:
        user = accounts.authenticate(session, email, text(form, "password"), policy, client)
    except ServiceError as exc:
        from rus.portal.errors import status_for

        return render(
            request,
            "login.html",
            {"next": target, "email": email, "error": str(exc)},
            status_code=status_for(exc),
        )
    login_session(request, user)
    flash(request, f"Welcome, {user.full_name or user.email}.", "success")
    return redirect(target)


@router.post("/logout")
def logout(request: Request, _csrf: Csrf) -> Response:
    """End the session."""
    request.session.clear()
    return redirect("/")


@router.get("/reset-request")
def reset_request_form(request: Request, user: OptionalUser) -> Response:
    """Ask for a password reset link."""
    return render(request, "reset_request.html")


@router.post("/reset-request")
def reset_request(
    request: Request, form: FormDep, _csrf: Csrf, session: SessionDep, mail: MailDep,
    policy: PolicyDep,
) -> Response:  # fmt: skip
    """Email a reset link (same answer whether or not the address exists)."""
    accounts.request_password_reset(session, text(form, "email"), mail, policy)
    return render(request, "message.html", {
        "title": "Check your email",
        "message": "If that address is registered, a password reset link is on its way.",
    })  # fmt: skip


@router.get("/reset")
def reset_form(request: Request, token: str = "") -> Response:
    """The new-password form of a reset link."""
    return render(request, "reset.html", {"token": token})


@router.post("/reset")
def reset(request: Request, form: FormDep, _csrf: Csrf, session: SessionDep) -> Response:
    """Set the new password."""
    token = text(form, "token")
    try:
        if text(form, "password") != text(form, "password2"):
            raise ServiceError("the two passwords differ")
        accounts.reset_password(session, token, text(form, "password"))
    except ServiceError as exc:
        session.rollback()
        return render(request, "reset.html", {"token": token, "error": str(exc)}, status_code=400)
    request.session.clear()
    flash(request, "Password changed: log in with the new one.", "success")
    return redirect("/login")


@router.get("/profile")
def profile(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    """Profile form and API tokens."""
    tokens = accounts.list_api_tokens(session, user)
    new_token = request.session.pop("new_token", None)
    return render(request, "profile.html", {"tokens": tokens, "new_token": new_token})


@router.post("/profile")
def update_profile(
    request: Request, form: FormDep, user: CurrentUser, session: SessionDep
) -> Response:
    """Save the profile."""
    try:
        data = UserUpdate(**{k: text(form, k) or None for k in PROFILE_FIELDS})
    except ValidationError as exc:
        flash(request, error_sentences(exc), "error")
        return redirect("/profile")
    accounts.update_profile(session, user, data)
    flash(request, "Profile saved.", "success")
    return redirect("/profile")


@router.post("/profile/tokens")
def create_token(
    request: Request, form: FormDep, user: CurrentUser, session: SessionDep
) -> Response:
    """Create an API token; shown once on the next page."""
    name = text(form, "name") or "script"
    _row, raw = accounts.create_api_token(session, user, name[:100])
    request.session["new_token"] = raw
    return redirect("/profile")


@router.post("/profile/tokens/{token_id}/revoke")
def revoke_token(
    request: Request, token_id: int, user: CurrentUser, session: SessionDep
) -> Response:
    """Revoke an API token."""
    accounts.revoke_api_token(session, user, token_id)
    flash(request, "Token revoked.", "success")
    return redirect("/profile")


@router.get("/notifications")
def notification_list(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    """The user's notifications (marked read once shown)."""
    rows, total = notifications.list_notifications(session, user, 0, 100)
    page = render(request, "notifications.html", {"items": rows, "total": total})
    notifications.mark_all_read(session, user)
    return page
