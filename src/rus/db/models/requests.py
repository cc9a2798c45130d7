"""Service requests (with their ICT sizing and follow-ups) and the audit log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rus.db.base import Base, UTCDateTime, utcnow

# covering index of the desk's "active environments" aggregates
ACTIVE_INDEX_COLUMNS = (
    "state", "expires_at", "parent_id", "owner_id", "vms", "cores_per_vm", "ram_per_core_gb",
    "disk_tb",
)  # fmt: skip
STATES = ("submitted", "info_requested", "approved", "rejected", "withdrawn")


class ServiceRequest(Base):
    """A user's request for a sized environment; ``parent_id`` set for follow-ups.

    Sizing columns (``vms`` ... ``support_hours``) hold the current proposal: automatic at
    filing, possibly adjusted by an admin, and final once approved.
    """

    __tablename__ = "service_requests"
    __table_args__ = (
        Index("ix_service_requests_owner_created", "owner_id", "created_at"),
        Index("ix_service_requests_state_created", "state", "created_at"),
        Index("ix_service_requests_expires", "expires_at"),
        Index("ix_service_requests_created", "created_at"),
        Index("ix_service_requests_active", *ACTIVE_INDEX_COLUMNS),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_requests.id", ondelete="CASCADE"), nullable=True, index=True
    )
    kind: Mapped[str] = mapped_column(String(20), default="new")  # new | extend | resize
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    application_domain: Mapped[str] = mapped_column(String(100), default="")
    datasets: Mapped[list[str]] = mapped_column(JSON, default=list)
    copernicus_main_source: Mapped[bool] = mapped_column(Boolean, default=True)
    aoi_wkt: Mapped[str] = mapped_column(Text, default="")
    period_start: Mapped[date | None] = mapped_column(Date, nullable=True)
    period_end: Mapped[date | None] = mapped_column(Date, nullable=True)
    data_volume_gb: Mapped[float] = mapped_column(Float, default=0.0)
    processing_needs: Mapped[str] = mapped_column(String(20), default="light")
    software_needs: Mapped[str] = mapped_column(Text, default="")
    requested_months: Mapped[int] = mapped_column(Integer, default=3)
    n_users: Mapped[int] = mapped_column(Integer, default=1)
    support_level: Mapped[str] = mapped_column(String(20), default="basic")
    state: Mapped[str] = mapped_column(String(20), default="submitted")
    eligible: Mapped[bool] = mapped_column(Boolean, default=True)
    eligibility_note: Mapped[str] = mapped_column(Text, default="")
    # sizing proposal / decision
    vms: Mapped[int] = mapped_column(Integer, default=1)
    cores_per_vm: Mapped[int] = mapped_column(Integer, default=2)
    ram_per_core_gb: Mapped[int] = mapped_column(Integer, default=4)
    disk_tb: Mapped[float] = mapped_column(Float, default=0.1)
    duration_months: Mapped[int] = mapped_column(Integer, default=3)
    support_hours: Mapped[int] = mapped_column(Integer, default=4)
    sizing_notes: Mapped[list[str]] = mapped_column(JSON, default=list)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuditEvent(Base):
    """One change to a request (or account), who made it and what it was."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_request_at", "request_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_requests.id", ondelete="CASCADE"), nullable=True
    )
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
