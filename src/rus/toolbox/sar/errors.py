"""Exceptions of :mod:`rus.toolbox.sar` (the toolbox base exception, re-exported)."""

from __future__ import annotations

from rus.toolbox.errors import ToolboxError

__all__ = ["ToolboxError"]
