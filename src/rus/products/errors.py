"""Exceptions of :mod:`rus.products`."""

from __future__ import annotations

from rus.errors import RusError


class ProductError(RusError):
    """A product cannot be read: corrupt, truncated, incomplete or of an unknown kind.

    The message always names the file and the problem.
    """


class UnknownProductError(ProductError):
    """The path is not a product kind that rus understands."""
