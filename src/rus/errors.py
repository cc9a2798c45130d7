"""The root of every exception that rus raises on purpose.

Each layer has one base exception deriving from :class:`RusError` (``ProductError``,
``ToolboxError``, ``ChainError``, ``HubError``, ``ServiceError``). Front ends (CLI, portal) map
them to exit codes and HTTP statuses in one table; processing code knows nothing of HTTP.
"""

from __future__ import annotations


class RusError(Exception):
    """Base class of all deliberate rus errors: the message is meant for the user."""


class ConfigurationError(RusError):
    """Settings are missing, inconsistent or unsafe."""
