"""Accounts: registration, email verification, login (rate-limited), resets, roles, API tokens.

Passwords are hashed with argon2 (argon2-cffi defaults, RFC 9106 low-memory profile). Email and
API tokens are random (``secrets``) and only their SHA-256 is stored, so a database leak does not
leak usable links or tokens.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rus.db.base import utcnow
from rus.db.models.accounts import ROLES, ApiToken, EmailToken, LoginAttempt, User
from rus.services.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    PermissionDenied,
    RateLimited,
    ValidationFailed,
)
from rus.services.mail import MailConfig, send_mail
from rus.services.schemas import UserCreate, UserUpdate

if TYPE_CHECKING:
    from argon2 import PasswordHasher

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")
API_TOKEN_PREFIX = "rus_"
ADMIN_EMAIL = "admin@localhost"


@dataclass(frozen=True)
class AccountPolicy:
    """Lifetimes and limits (from settings)."""

    base_url: str = "http://127.0.0.1:8000"
    token_ttl_s: int = 48 * 3600
    max_failures: int = 5
    window_s: int = 900


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_password(password: str) -> str:
    """Argon2id hash of ``password``."""
    return _hasher().hash(password)


def check_password(stored_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash`` (constant-time in argon2)."""
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return bool(_hasher().verify(stored_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def normalise_email(email: str) -> str:
    """Lower-cased, stripped email; ``ValidationFailed`` if it is not ``name@domain``."""
    value = email.strip().lower()
    if not EMAIL_RE.match(value) or len(value) > 254:
        raise ValidationFailed(f"{email!r} is not a valid email address")
    return value


def require_role(user: User, *roles: str) -> None:
    """Raise ``PermissionDenied`` unless ``user`` has one of ``roles`` (admins always pass)."""
    if user.role != "admin" and user.role not in roles:
        raise PermissionDenied(f"this action needs the role {' or '.join(roles)}")


def find_user(session: Session, email: str) -> User | None:
    """The user with ``email`` (case-insensitive), or None."""
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def get_user(session: Session, user_id: int) -> User:
    """The user ``user_id`` or ``NotFound``."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


def issue_email_token(session: Session, user: User, purpose: str, ttl_s: int) -> str:
    """Create a one-time ``purpose`` token for ``user``; return the raw token (for the link)."""
    raw = secrets.token_urlsafe(32)
    session.add(
        EmailToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=_sha256(raw),
            expires_at=utcnow() + timedelta(seconds=ttl_s),
        )
    )
    session.flush()
    return raw


def _send_verification(
    session: Session, mail: MailConfig, policy: AccountPolicy, user: User
) -> None:
    raw = issue_email_token(session, user, "verify", policy.token_ttl_s)
    hours = policy.token_ttl_s / 3600
    send_mail(
        session,
        mail,
        user.email,
        "[RUS] Confirm your email address",
        f"Welcome to RUS. Confirm your address within {hours:g} hours:\n\n"
        f"{policy.base_url.rstrip('/')}/verify?token={raw}\n",
    )


def register_user(
    session: Session, data: UserCreate, mail: MailConfig, policy: AccountPolicy
) -> User:
    """Create an unverified ``user`` account and email the verification link.

    Raises ``Conflict`` for an email already registered; nothing is written then.
    """
    email = normalise_email(data.email)
    if find_user(session, email) is not None:
        raise Conflict(f"an account with email {email} already exists")
    user = User(
        email=email,
        password_hash=hash_password(data.password),
        full_name=data.full_name.strip(),
        organisation=data.organisation.strip(),
        country=data.country.strip(),
        thematic_domain=data.thematic_domain.strip(),
        user_type=data.user_type,
        role="user",
        is_verified=False,
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"an account with email {email} already exists") from None
    _send_verification(session, mail, policy, user)
    return user


def resend_verification(
    session: Session, email: str, mail: MailConfig, policy: AccountPolicy
) -> None:
    """Send a new verification link if ``email`` is registered and unverified (silent otherwise)."""
    user = find_user(session, email)
    if user is not None and not user.is_verified:
        _send_verification(session, mail, policy, user)


def _consume_token(session: Session, raw: str, purpose: str) -> EmailToken:
    token = session.scalar(
        select(EmailToken).where(
            EmailToken.token_hash == _sha256(raw), EmailToken.purpose == purpose
        )
    )
    what = "verification" if purpose == "verify" else "password reset"
    if token is None:
        raise ValidationFailed(f"this {what} link is not valid")
    if token.used_at is not None:
        raise ValidationFailed(f"this {what} link has already been used")
    if token.expires_at < utcnow():
        raise ValidationFailed(
            f"this {what} link expired on {token.expires_at:%Y-%m-%d %H:%M} UTC; request a new one"
        )
    token.used_at = utcnow()
    return token


def verify_email(session: Session, raw_token: str) -> User:
    """Mark the owner of a verification token verified; clear errors for bad/expired links."""
    token = _consume_token(session, raw_token, "verify")
    user = get_user(session, token.user_id)
    user.is_verified = True
    return user


def _recent_failures(session: Session, email: str, window_s: int) -> int:
    since = utcnow() - timedelta(seconds=window_s)
    return (
        session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(
                LoginAttempt.email == email,
                LoginAttempt.at >= since,
                LoginAttempt.success.is_(False),
            )
        )
        or 0
    )


def authenticate(
    session: Session, email: str, password: str, policy: AccountPolicy, client: str = ""
) -> User:
    """Check credentials; record the attempt. Rate-limited per email address.

    The attempt is committed even when the login fails, so the limit holds across requests.

    Raises
    ------
    RateLimited
        ``policy.max_failures`` failures within ``policy.window_s`` seconds.
    AuthenticationFailed
        Wrong email/password (one message for both), unverified or disabled account.
    """
    key = email.strip().lower()
    if _recent_failures(session, key, policy.window_s) >= policy.max_failures:
        raise RateLimited(
            f"too many failed logins for {key}; try again in {policy.window_s // 60} minutes"
        )
    user = find_user(session, key)
    ok = user is not None and check_password(user.password_hash, password)
    session.add(LoginAttempt(email=key, client=client[:64], success=ok))
    session.commit()
    if not ok or user is None:
        raise AuthenticationFailed("wrong email or password")
    if not user.is_active:
        raise AuthenticationFailed("this account is disabled; contact the helpdesk")
    if not user.is_verified:
        raise AuthenticationFailed("confirm your email address first (see the link we sent)")
    user.last_login_at = utcnow()
    return user


def request_password_reset(
    session: Session, email: str, mail: MailConfig, policy: AccountPolicy
) -> None:
    """Email a reset link if ``email`` is registered (silent otherwise: no account probing)."""
    user = find_user(session, email)
    if user is None or not user.is_active:
        return
    raw = issue_email_token(session, user, "reset", min(policy.token_ttl_s, 2 * 3600))
    send_mail(
        session,
        mail,
        user.email,
        "[RUS] Reset your password",
        f"Someone asked to reset your RUS password. If it was you, open:\n\n"
        f"{policy.base_url.rstrip('/')}/reset?token={raw}\n\nOtherwise ignore this message.",
    )


def reset_password(session: Session, raw_token: str, new_password: str) -> User:
    """Set a new password with a reset token (which also proves the email address)."""
    if len(new_password) < 10:
        raise ValidationFailed("the password must have at least 10 characters")
    token = _consume_token(session, raw_token, "reset")
    user = get_user(session, token.user_id)
    user.password_hash = hash_password(new_password)
    user.is_verified = True
    return user


def update_profile(session: Session, user: User, data: UserUpdate) -> User:
    """Apply the fields set in ``data`` to ``user``'s profile."""
    for key, value in data.model_dump(exclude_none=True).items():
        setattr(user, key, value.strip() if isinstance(value, str) else value)
    session.flush()
    return user


def set_role(session: Session, actor: User, user_id: int, role: str) -> User:
    """Give ``user_id`` the ``role`` (admins only; an admin cannot demote themself)."""
    require_role(actor, "admin")
    if role not in ROLES:
        raise ValidationFailed(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    user = get_user(session, user_id)
    if user.id == actor.id and role != "admin":
        raise Conflict("an admin cannot remove their own admin role")
    user.role = role
    return user


def list_users(
    session: Session, actor: User, offset: int = 0, limit: int = 50, query: str = ""
) -> tuple[list[User], int]:
    """Users (newest first) matching ``query`` in the email; admins and operators only."""
    require_role(actor, "admin", "operator")
    conds = [User.email.contains(query.strip().lower())] if query.strip() else []
    total = session.scalar(select(func.count()).select_from(User).where(*conds)) or 0
    rows = session.scalars(
        select(User).where(*conds).order_by(User.id.desc()).offset(offset).limit(limit)
    ).all()
    return list(rows), total


def create_api_token(session: Session, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a bearer token for scripts; return the row and the raw token (shown once)."""
    raw = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name.strip(), token_hash=_sha256(raw), prefix=raw[:10])
    session.add(row)
    session.flush()
    return row, raw


def list_api_tokens(session: Session, user: User) -> list[ApiToken]:
    """``user``'s API tokens (without secrets)."""
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)
        ).all()
    )


def revoke_api_token(session: Session, user: User, token_id: int) -> ApiToken:
    """Revoke one of ``user``'s tokens."""
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound(f"API token {token_id} not found")
    row.revoked = True
    return row


def user_for_api_token(session: Session, raw: str) -> User:
    """The active user owning the bearer token ``raw``."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _sha256(raw)))
    if row is None or row.revoked:
        raise AuthenticationFailed("invalid or revoked API token")
    user = get_user(session, row.user_id)
    if not user.is_active:
        raise AuthenticationFailed("this account is disabled")
    row.last_used_at = utcnow()
    return user


def ensure_admin(session: Session, email: str = ADMIN_EMAIL) -> str | None:
    """Create the first admin if there is none; return its random password (else None).

    The password is 20 random URL-safe characters, printed once by the caller; there is never a
    fixed default password.
    """
    if session.scalar(select(User.id).where(User.role == "admin").limit(1)) is not None:
        return None
    password = secrets.token_urlsafe(15)
    existing = find_user(session, email)
    if existing is not None:
        existing.role = "admin"
        existing.password_hash = hash_password(password)
        existing.is_verified = True
    else:
        session.add(
            User(
                email=email,
                password_hash=hash_password(password),
                full_name="RUS administrator",
                role="admin",
                is_verified=True,
                user_type="proficient",
            )
        )
    session.flush()
    return password
