"""Notify a user in the portal and by email."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from rus.db.models.accounts import Notification, User
from rus.services.mail import MailConfig, send_mail


def notify(
    session: Session,
    mail: MailConfig,
    user: User,
    subject: str,
    body: str,
    link: str = "",
    base_url: str = "",
) -> Notification:
    """Record an in-portal notification for ``user`` and email it to them."""
    note = Notification(user_id=user.id, subject=subject, body=body, link=link)
    session.add(note)
    text = body + (f"\n\n{base_url.rstrip('/')}{link}" if link else "")
    send_mail(session, mail, user.email, f"[RUS] {subject}", text)
    session.flush()
    return note


def list_notifications(
    session: Session, user: User, offset: int = 0, limit: int = 50
) -> tuple[list[Notification], int]:
    """``user``'s notifications, newest first, and their total count."""
    total = session.scalar(
        select(func.count()).select_from(Notification).where(Notification.user_id == user.id)
    )
    rows = session.scalars(
        select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return list(rows), total or 0


def unread_count(session: Session, user: User) -> int:
    """How many of ``user``'s notifications are unread."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user.id, Notification.read.is_(False))
        )
        or 0
    )


def mark_all_read(session: Session, user: User) -> int:
    """Mark every notification of ``user`` read; return how many changed."""
    result = session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read.is_(False))
        .values(read=True)
    )
    return int(getattr(result, "rowcount", 0) or 0)
