"""FastAPI dependencies: database session, settings, the current user (cookie or bearer token)
with CSRF checks, and role guards. Use them through the ``Annotated`` aliases.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from rus.db.base import session_scope
from rus.db.models.accounts import User
from rus.portal.errors import CsrfFailed
from rus.services.accounts import AccountPolicy, require_role, user_for_api_token
from rus.services.errors import AuthenticationFailed
from rus.services.mail import MailConfig
from rus.services.requests import Notifier
from rus.settings import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


def get_settings_dep(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Iterator[Session]:
    """A session per request: committed when the endpoint returns, rolled back on error."""
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    with session_scope(factory) as session:
        yield session


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return token


@dataclass(frozen=True)
class Viewer:
    """A detached copy of the logged-in user for templates (safe after a rollback)."""

    id: int
    email: str
    role: str
    full_name: str
    organisation: str
    country: str
    thematic_domain: str
    user_type: str

    @classmethod
    def of(cls, user: User) -> Viewer:
        """Snapshot ``user``."""
        return cls(**{f: getattr(user, f) for f in cls.__dataclass_fields__})


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    return auth[7:].strip() if auth.lower().startswith("bearer ") else None


async def csrf_valid(request: Request) -> bool:
    """Whether an unsafe request carries the session's CSRF token (safe methods always pass).

    Bearer-token calls are exempt (no ambient credentials). The token comes from the
    ``X-CSRF-Token`` header or the ``csrf_token`` form field.
    """
    if request.method in SAFE_METHODS or _bearer(request) is not None:
        return True
    expected = request.session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and "form" in request.headers.get("content-type", ""):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    return (
        isinstance(expected, str)
        and sent is not None
        and hmac.compare_digest(sent.encode(), expected.encode())
    )


def check_csrf(ok: Annotated[bool, Depends(csrf_valid)]) -> None:
    """Refuse (``CsrfFailed``) an unsafe request without the session's CSRF token."""
    if not ok:
        raise CsrfFailed("missing or wrong CSRF token: reload the page and try again")


def session_stamp(user: User) -> str:
    """A digest of the password hash kept in the session: a password change logs others out."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def login_session(request: Request, user: User) -> None:
    """Start a logged-in session for ``user`` (fresh CSRF token)."""
    request.session.clear()
    request.session.update(uid=user.id, pw=session_stamp(user), csrf=secrets.token_urlsafe(24))


def get_optional_user(request: Request, session: SessionDep) -> User | None:
    """The user of the bearer token or session cookie, or None when anonymous."""
    token = _bearer(request)
    if token is not None:
        api_user = user_for_api_token(session, token)
        request.state.user = Viewer.of(api_user)
        return api_user
    uid = request.session.get("uid")
    if not isinstance(uid, int):
        return None
    user = session.get(User, uid)
    if user is None or not user.is_active or request.session.get("pw") != session_stamp(user):
        request.session.pop("uid", None)
        return None
    request.state.user = Viewer.of(user)
    return user


def get_current_user(user: OptionalUser, csrf_ok: Annotated[bool, Depends(csrf_valid)]) -> User:
    """The logged-in user (``AuthenticationFailed`` otherwise); CSRF-checked for unsafe calls."""
    if user is None:
        raise AuthenticationFailed("log in first (or send an API token as 'Authorization: Bearer')")
    if not csrf_ok:
        raise CsrfFailed("missing or wrong CSRF token: reload the page and try again")
    return user


def get_staff_user(user: CurrentUser) -> User:
    """The current user if operator or admin."""
    require_role(user, "operator", "admin")
    return user


def get_admin_user(user: CurrentUser) -> User:
    """The current user if admin."""
    require_role(user, "admin")
    return user


def get_mail(settings: SettingsDep) -> MailConfig:
    """Mail configuration."""
    from rus.services.mail import mail_config

    return mail_config(settings)


def get_policy(settings: SettingsDep) -> AccountPolicy:
    """Account policy (link lifetimes, login rate limit)."""
    return AccountPolicy(
        base_url=settings.base_url,
        token_ttl_s=settings.verify_token_ttl_s,
        max_failures=settings.login_max_failures,
        window_s=settings.login_window_s,
    )


def get_notifier(settings: SettingsDep, mail: MailDep) -> Notifier:
    """Where decision notices go."""
    return Notifier(mail=mail, base_url=settings.base_url)


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_db, scope="function")]
OptionalUser = Annotated[User | None, Depends(get_optional_user)]
CurrentUser = Annotated[User, Depends(get_current_user)]
StaffUser = Annotated[User, Depends(get_staff_user)]
AdminUser = Annotated[User, Depends(get_admin_user)]
Csrf = Annotated[None, Depends(check_csrf)]
MailDep = Annotated[MailConfig, Depends(get_mail)]
PolicyDep = Annotated[AccountPolicy, Depends(get_policy)]
NotifierDep = Annotated[Notifier, Depends(get_notifier)]
