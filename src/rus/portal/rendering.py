"""Jinja2 rendering with the common page context (user, CSRF token, flash messages)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

TEMPLATES_DIR = Path(__file__).parent / "templates"


def make_templates(reload: bool = True) -> Jinja2Templates:
    """The template environment (autoescaped HTML, a few filters).

    ``reload`` re-reads changed template files (development); off, templates are compiled once.
    """
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    env = templates.env
    env.auto_reload = reload
    env.filters["dt"] = lambda v: v.strftime("%Y-%m-%d %H:%M UTC") if v else "-"
    env.filters["d"] = lambda v: v.isoformat() if v else "-"
    env.globals["state_labels"] = {
        "submitted": "Submitted",
        "info_requested": "Information requested",
        "approved": "Approved",
        "rejected": "Rejected",
        "withdrawn": "Withdrawn",
    }
    return templates


def flash(request: Request, message: str, kind: str = "info") -> None:
    """Queue a message shown on the next rendered page."""
    queue = list(request.session.get("flash", []))
    queue.append([kind, message])
    request.session["flash"] = queue[-5:]


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    """Render template ``name`` with ``context`` plus ``user``, ``csrf_token`` and flashes."""
    from rus.portal.deps import csrf_token

    ctx: dict[str, Any] = {
        "user": getattr(request.state, "user", None),
        "csrf_token": csrf_token(request),
        "flashes": request.session.pop("flash", []),
        "assets": request.app.state.assets_ok,
        "environment": request.app.state.settings.environment,
    }
    ctx.update(context or {})
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)
