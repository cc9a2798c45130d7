"""``/api/v1`` accounts: registration, verification, login, resets, profile, tokens, notices."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from rus.portal.deps import (
    CurrentUser,
    MailDep,
    PolicyDep,
    SessionDep,
    csrf_token,
    login_session,
)
from rus.services import accounts, notifications
from rus.services.schemas import (
    NotificationPublic,
    Page,
    TokenCreate,
    TokenPublic,
    UserCreate,
    UserPublic,
    UserUpdate,
)

router = APIRouter(tags=["accounts"])


class Credentials(BaseModel):
    """Email and password."""

    email: str = Field(max_length=254)
    password: str = Field(max_length=256)


class TokenIn(BaseModel):
    """A one-time token from an email link."""

    token: str = Field(min_length=10, max_length=200)


class EmailIn(BaseModel):
    """An email address."""

    email: str = Field(max_length=254)


class ResetIn(BaseModel):
    """Reset token and the new password."""

    token: str = Field(min_length=10, max_length=200)
    password: str = Field(min_length=10, max_length=256)


class LoginOut(BaseModel):
    """The logged-in user and the CSRF token to send as ``X-CSRF-Token`` on unsafe calls."""

    user: UserPublic
    csrf_token: str


class Message(BaseModel):
    """A human-readable result."""

    detail: str


@router.post("/auth/register", status_code=201, response_model=UserPublic)
def register(data: UserCreate, session: SessionDep, mail: MailDep, policy: PolicyDep) -> object:
    """Create an account; a verification link is emailed (dev: the admin's mail sink)."""
    return accounts.register_user(session, data, mail, policy)


@router.post("/auth/verify", response_model=UserPublic)
def verify(data: TokenIn, session: SessionDep) -> object:
    """Confirm an email address with the token from the link."""
    return accounts.verify_email(session, data.token)


@router.post("/auth/resend-verification", response_model=Message)
def resend(data: EmailIn, session: SessionDep, mail: MailDep, policy: PolicyDep) -> Message:
    """Send a fresh verification link (answers the same whether or not the email exists)."""
    accounts.resend_verification(session, data.email, mail, policy)
    return Message(detail="if the address is registered and unverified, a new link was sent")


@router.post("/auth/login", response_model=LoginOut)
def login(data: Credentials, request: Request, session: SessionDep, policy: PolicyDep) -> LoginOut:
    """Log in with a session cookie (rate-limited per email)."""
    client = request.client.host if request.client else ""
    user = accounts.authenticate(session, data.email, data.password, policy, client)
    login_session(request, user)
    return LoginOut(user=UserPublic.model_validate(user), csrf_token=csrf_token(request))


@router.post("/auth/logout", response_model=Message)
def logout(request: Request) -> Message:
    """End the session."""
    request.session.clear()
    return Message(detail="logged out")


@router.post("/auth/tokens", status_code=201, response_model=TokenPublic)
def token_for_credentials(
    data: Credentials, request: Request, session: SessionDep, policy: PolicyDep
) -> TokenPublic:
    """Exchange email + password for an API token (for scripts; the token is shown once)."""
    client = request.client.host if request.client else ""
    user = accounts.authenticate(session, data.email, data.password, policy, client)
    row, raw = accounts.create_api_token(session, user, "script")
    return TokenPublic.model_validate(row).model_copy(update={"token": raw})


@router.post("/auth/password-reset", response_model=Message)
def password_reset(data: EmailIn, session: SessionDep, mail: MailDep, policy: PolicyDep) -> Message:
    """Email a reset link (answers the same whether or not the email exists)."""
    accounts.request_password_reset(session, data.email, mail, policy)
    return Message(detail="if the address is registered, a reset link was sent")


@router.post("/auth/password-reset/confirm", response_model=UserPublic)
def password_reset_confirm(data: ResetIn, session: SessionDep) -> object:
    """Set a new password with the token from the reset link."""
    return accounts.reset_password(session, data.token, data.password)


@router.get("/users/me", response_model=UserPublic)
def me(user: CurrentUser) -> object:
    """The current user."""
    return user


@router.patch("/users/me", response_model=UserPublic)
def update_me(data: UserUpdate, user: CurrentUser, session: SessionDep) -> object:
    """Update the profile (organisation, country, thematic domain, user type)."""
    return accounts.update_profile(session, user, data)


@router.get("/users/me/tokens", response_model=list[TokenPublic])
def my_tokens(user: CurrentUser, session: SessionDep) -> object:
    """The current user's API tokens (without secrets)."""
    return accounts.list_api_tokens(session, user)


@router.post("/users/me/tokens", status_code=201, response_model=TokenPublic)
def new_token(data: TokenCreate, user: CurrentUser, session: SessionDep) -> TokenPublic:
    """Create an API token; the secret is in ``token`` and is shown only now."""
    row, raw = accounts.create_api_token(session, user, data.name)
    return TokenPublic.model_validate(row).model_copy(update={"token": raw})


@router.delete("/users/me/tokens/{token_id}", response_model=TokenPublic)
def revoke_token(token_id: int, user: CurrentUser, session: SessionDep) -> object:
    """Revoke one of the current user's tokens."""
    return accounts.revoke_api_token(session, user, token_id)


@router.get("/users/me/notifications", response_model=Page[NotificationPublic])
def my_notifications(
    user: CurrentUser, session: SessionDep, offset: int = 0, limit: int = 50
) -> Page[NotificationPublic]:
    """The current user's notifications, newest first."""
    rows, total = notifications.list_notifications(session, user, offset, min(limit, 200))
    items = [NotificationPublic.model_validate(r) for r in rows]
    return Page(items=items, total=total, offset=offset, limit=limit)


@router.post("/users/me/notifications/read", response_model=Message)
def read_all(user: CurrentUser, session: SessionDep) -> Message:
    """Mark every notification read."""
    n = notifications.mark_all_read(session, user)
    return Message(detail=f"{n} notification(s) marked read")
