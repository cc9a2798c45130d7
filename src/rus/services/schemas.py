"""Pydantic schemas shared by the JSON API and pages: ``XCreate`` / ``XUpdate`` / ``XPublic``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

Role = Literal["user", "operator", "trainer", "admin"]
UserType = Literal["basic", "rnd", "proficient"]
Processing = Literal["light", "moderate", "heavy"]
T = TypeVar("T")


class UserCreate(BaseModel):
    """Registration form."""

    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=10, max_length=256)
    full_name: str = Field(default="", max_length=200)
    organisation: str = Field(default="", max_length=200)
    country: str = Field(default="", max_length=100)
    thematic_domain: str = Field(default="", max_length=100)
    user_type: UserType = "basic"


class UserUpdate(BaseModel):
    """Profile changes (all optional)."""

    full_name: str | None = Field(default=None, max_length=200)
    organisation: str | None = Field(default=None, max_length=200)
    country: str | None = Field(default=None, max_length=100)
    thematic_domain: str | None = Field(default=None, max_length=100)
    user_type: UserType | None = None


class UserPublic(BaseModel):
    """A user as the API shows it (never the password hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    full_name: str
    organisation: str
    country: str
    thematic_domain: str
    user_type: str
    role: str
    is_verified: bool
    is_active: bool
    created_at: datetime


class RequestCreate(BaseModel):
    """A new service request."""

    title: str = Field(min_length=3, max_length=200)
    description: str = Field(default="", max_length=10_000)
    application_domain: str = Field(default="", max_length=100)
    datasets: list[str] = Field(min_length=1, max_length=30)
    copernicus_main_source: bool = True
    aoi: str = Field(min_length=1, max_length=500_000, description="WKT or GeoJSON (EPSG:4326).")
    period_start: date
    period_end: date
    data_volume_gb: float = Field(ge=0, le=1_000_000)
    processing_needs: Processing = "light"
    software_needs: str = Field(default="", max_length=2000)
    requested_months: int = Field(default=3, ge=1, le=36)
    n_users: int = Field(default=1, ge=1, le=100)
    support_level: UserType = "basic"

    @model_validator(mode="after")
    def _dates_in_order(self) -> RequestCreate:
        if self.period_end < self.period_start:
            raise ValueError(
                f"period end {self.period_end} is before period start {self.period_start}"
            )
        return self


class FollowUpCreate(BaseModel):
    """Extend or resize an approved request."""

    kind: Literal["extend", "resize"]
    reason: str = Field(min_length=3, max_length=5000)
    extra_months: int = Field(default=0, ge=0, le=12)
    support_level: UserType | None = None
    data_volume_gb: float | None = Field(default=None, ge=0, le=1_000_000)
    processing_needs: Processing | None = None
    n_users: int | None = Field(default=None, ge=1, le=100)


class SizingUpdate(BaseModel):
    """An admin's adjustment of the sizing (any subset)."""

    support_level: UserType | None = None
    vms: int | None = Field(default=None, ge=1, le=100)
    cores_per_vm: int | None = Field(default=None, ge=1, le=128)
    ram_per_core_gb: int | None = Field(default=None, ge=1, le=32)
    disk_tb: float | None = Field(default=None, gt=0, le=1000)
    duration_months: int | None = Field(default=None, ge=1, le=36)
    support_hours: int | None = Field(default=None, ge=0, le=1000)


class Decision(BaseModel):
    """Reject or request-information reason (approval may carry a note)."""

    reason: str = Field(default="", max_length=5000)


class SizingPublic(BaseModel):
    """The sizing of a request."""

    vms: int
    cores_per_vm: int
    ram_per_core_gb: int
    disk_tb: float
    duration_months: int
    support_hours: int
    total_cores: int
    total_ram_gb: int
    notes: list[str]


class RequestPublic(BaseModel):
    """A service request as its owner and the desks see it."""

    id: int
    owner_id: int
    owner_email: str | None = None
    parent_id: int | None
    kind: str
    title: str
    description: str
    application_domain: str
    datasets: list[str]
    copernicus_main_source: bool
    aoi_wkt: str
    period_start: date | None
    period_end: date | None
    data_volume_gb: float
    processing_needs: str
    software_needs: str
    requested_months: int
    n_users: int
    support_level: str
    state: str
    eligible: bool
    eligibility_note: str
    sizing: SizingPublic
    decision_reason: str
    created_at: datetime
    decided_at: datetime | None
    expires_at: datetime | None


class RequestSummary(BaseModel):
    """One line of a request list."""

    id: int
    title: str
    kind: str
    state: str
    support_level: str
    owner_id: int
    owner_email: str | None = None
    created_at: datetime
    expires_at: datetime | None


class AuditPublic(BaseModel):
    """One audit log entry."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    request_id: int | None
    actor_id: int | None
    action: str
    detail: dict[str, Any]
    at: datetime


class TokenCreate(BaseModel):
    """Name of a new API token."""

    name: str = Field(min_length=1, max_length=100)


class TokenPublic(BaseModel):
    """An API token (the secret is shown once, at creation)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool
    token: str | None = None


class NotificationPublic(BaseModel):
    """An in-portal notification."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    subject: str
    body: str
    link: str
    read: bool
    created_at: datetime


class MailPublic(BaseModel):
    """A message of the mail log / development sink."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    sender: str
    recipient: str
    subject: str
    body: str
    transport: str
    created_at: datetime


class Page(BaseModel, Generic[T]):
    """A page of a list: ``items`` plus the total count and the paging window."""

    items: list[T]
    total: int
    offset: int
    limit: int
