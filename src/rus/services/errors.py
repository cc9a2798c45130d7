"""Errors of the service layer; the portal maps each class to one HTTP status in one table."""

from __future__ import annotations

from rus.errors import RusError


class ServiceError(RusError):
    """Base class of every deliberate service-layer error."""


class NotFound(ServiceError):  # noqa: N818
    """The object does not exist, or the caller may not know that it does."""


class AuthenticationFailed(ServiceError):  # noqa: N818
    """Wrong credentials, unknown or expired token, unverified or disabled account."""


class PermissionDenied(ServiceError):  # noqa: N818
    """The caller is known but their role does not allow the action."""


class Conflict(ServiceError):  # noqa: N818
    """The action clashes with the current state (duplicate email, request already decided)."""


class ValidationFailed(ServiceError):  # noqa: N818
    """Input is malformed or inconsistent (invalid geometry, reversed dates, oversized upload)."""


class RateLimited(ServiceError):  # noqa: N818
    """Too many attempts in the current window; retry later."""


class TooLarge(ValidationFailed):
    """An upload or field exceeds its size limit."""
