"""Outgoing mail: SMTP when a relay is configured, else the development sink.

Every message is logged in the ``mail_messages`` table. With no ``RUS_SMTP_HOST`` the table *is*
the delivery (the development sink): admins read it in the portal (``/admin/mail``), which is how
a developer follows the verification and reset links without a mail server.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

from sqlalchemy.orm import Session

from rus.db.models.accounts import MailMessage
from rus.services.errors import ServiceError
from rus.settings import Settings


class MailDeliveryFailed(ServiceError):  # noqa: N818
    """The SMTP relay refused the message or could not be reached."""


@dataclass(frozen=True)
class MailConfig:
    """Where and how mail goes; ``host`` None selects the development sink."""

    sender: str = "rus@localhost"
    host: str | None = None
    port: int = 25
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout_s: float = 10.0


def mail_config(settings: Settings) -> MailConfig:
    """The mail configuration of ``settings``."""
    return MailConfig(
        sender=settings.smtp_sender,
        host=settings.smtp_host,
        port=settings.smtp_port,
        starttls=settings.smtp_starttls,
        username=settings.smtp_username,
        password=settings.smtp_password,
    )


def _smtp_send(config: MailConfig, msg: EmailMessage) -> None:
    assert config.host is not None
    try:
        with smtplib.SMTP(config.host, config.port, timeout=config.timeout_s) as smtp:
            if config.starttls:
                smtp.starttls()
            if config.username:
                smtp.login(config.username, config.password or "")
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailDeliveryFailed(
            f"could not send mail to {msg['To']} via {config.host}:{config.port}: {exc}"
        ) from exc


def send_mail(
    session: Session, config: MailConfig, to: str, subject: str, body: str
) -> MailMessage:
    """Send one plain-text message and log it; return the log row (not yet committed)."""
    transport = "sink" if config.host is None else "smtp"
    if config.host is not None:
        msg = EmailMessage()
        msg["From"] = config.sender
        msg["To"] = to
        msg["Subject"] = subject
        msg.set_content(body)
        _smtp_send(config, msg)
    row = MailMessage(
        sender=config.sender, recipient=to, subject=subject, body=body, transport=transport
    )
    session.add(row)
    session.flush()
    return row


def list_mail(session: Session, offset: int = 0, limit: int = 50) -> tuple[list[MailMessage], int]:
    """Newest messages first, and the total count (admins only: checked by the caller)."""
    from sqlalchemy import func, select

    total = session.scalar(select(func.count()).select_from(MailMessage)) or 0
    rows = session.scalars(
        select(MailMessage).order_by(MailMessage.id.desc()).offset(offset).limit(limit)
    ).all()
    return list(rows), total
