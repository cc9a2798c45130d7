"""Exceptions of :mod:`rus.toolbox`."""

from __future__ import annotations

from rus.errors import RusError


class ToolboxError(RusError):
    """A processing step got input it cannot handle (bad shape, bad parameter, no valid data).

    The message names the step and the problem.
    """
