"""Exceptions of :mod:`rus.chains`."""

from __future__ import annotations

from rus.errors import RusError


class ChainError(RusError):
    """A processing chain cannot run with the given inputs or parameters."""
