"""ASGI entry point for multi-worker servers: ``uvicorn rus.portal.asgi:app --workers N``.

Settings come from the environment (``RUS_*``); the database must be migrated first.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    """Build the app on first access (nothing is built at import time otherwise)."""
    if name == "app":
        from rus.portal.app import create_app
        from rus.settings import get_settings

        application = create_app(get_settings())
        globals()["app"] = application
        return application
    raise AttributeError(name)
