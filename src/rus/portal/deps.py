"""FastAPI dependencies: database session, settings, the current user (cookie or bearer token)
with CSRF checks, and role guards. Use them through the ``Annotated`` aliases.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

import anyio
from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from rus.db.models.accounts import User
from rus.portal.cache import TTLCache
from rus.portal.errors import CsrfFailed
from rus.services.accounts import AccountPolicy, require_role, user_for_api_token
from rus.services.errors import AuthenticationFailed
from rus.services.mail import MailConfig
from rus.services.requests import Notifier
from rus.settings import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


async def get_settings_dep(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def _end_session(session: Session, commit: bool) -> None:
    """Commit (or roll back) and close ``session``: the database side of ending a request."""
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


async def get_db(request: Request) -> AsyncIterator[Session]:
    """A session per request: committed when the endpoint returns, rolled back on error.

    Opening a session does no I/O (it connects on first use), so it happens on the event loop;
    ending it runs in the thread pool, and only when the session did touch the database.
    After a committed unsafe request (a possible write), this process's cached list counts
    are dropped so that its pages show the change at once.
    """
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    session = factory()
    try:
        yield session
    except BaseException:
        with anyio.CancelScope(shield=True):  # roll back even when the request was cancelled
            await run_in_threadpool(_end_session, session, False)
        raise
    if session.in_transaction():
        await run_in_threadpool(_end_session, session, True)
    else:
        session.close()
    if request.method not in SAFE_METHODS:
        request.app.state.count_cache.clear()


def cached_request_count(
    request: Request, session: Session, user: User, state: str | None, mine: bool = False
) -> int | None:
    """The total of a staff-wide request list, from a short per-process cache.

    Only lists that do not depend on who asks (staff, not ``mine``) are cached; for the others
    it returns None and ``list_requests`` counts itself. Values are at most ``COUNT_CACHE_TTL_S``
    old when another process wrote, and dropped at once after a write in this one.
    """
    from rus.services.requests import count_requests, is_staff

    if mine or not is_staff(user):
        return None
    cache: TTLCache = request.app.state.count_cache
    count: int = cache.get_or_compute(
        f"requests:{state or 'all'}", lambda: count_requests(session, user, state)
    )
    return count


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


async def check_csrf(ok: Annotated[bool, Depends(csrf_valid)]) -> None:
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


async def get_current_user(
    user: OptionalUser, csrf_ok: Annotated[bool, Depends(csrf_valid)]
) -> User:
    """The logged-in user (``AuthenticationFailed`` otherwise); CSRF-checked for unsafe calls."""
    if user is None:
        raise AuthenticationFailed("log in first (or send an API token as 'Authorization: Bearer')")
    if not csrf_ok:
        raise CsrfFailed("missing or wrong CSRF token: reload the page and try again")
    return user


async def get_staff_user(user: CurrentUser) -> User:
    """The current user if operator or admin."""
    require_role(user, "operator", "admin")
    return user


async def get_admin_user(user: CurrentUser) -> User:
    """The current user if admin."""
    require_role(user, "admin")
    return user


async def get_mail(settings: SettingsDep) -> MailConfig:
    """Mail configuration."""
    from rus.services.mail import mail_config

    return mail_config(settings)


async def get_policy(settings: SettingsDep) -> AccountPolicy:
    """Account policy (link lifetimes, login rate limit)."""
    return AccountPolicy(
        base_url=settings.base_url,
        token_ttl_s=settings.verify_token_ttl_s,
        max_failures=settings.login_max_failures,
        window_s=settings.login_window_s,
    )


async def get_notifier(settings: SettingsDep, mail: MailDep) -> Notifier:
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
