"""Errors of the data-access layer (CDSE client, product store, hub server)."""

from __future__ import annotations

from rus.errors import RusError


class HubError(RusError):
    """Base class of every error raised by :mod:`rus.hub`."""


class QueryError(HubError):
    """A search parameter (AOI, period, filter) cannot be understood."""


class UnsafeNameError(HubError):
    """A product name or node path tries to leave its folder (path traversal)."""


class AuthError(HubError):
    """Credentials are missing or refused by the identity server."""


class QuotaError(HubError):
    """The server kept throttling (HTTP 429) or is in maintenance (503) past the retries."""


class DownloadError(HubError):
    """A download failed for good (after retries)."""


class ChecksumError(DownloadError):
    """The downloaded bytes do not match the catalogue checksum."""


class OfflineProductError(DownloadError):
    """The product is offline (HTTP 202 / ``Online`` false); its retrieval may have been ordered."""


class DiskFullError(HubError):
    """No space left on the device while writing a product."""


class StoreError(HubError):
    """The product store refused an operation (unknown product, referenced product, size cap)."""


class CorruptProductError(StoreError):
    """A stored file no longer matches its recorded checksum; it was quarantined."""
