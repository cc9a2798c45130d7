"""The one table that maps rus exceptions to HTTP statuses, and the handlers that use it.

API paths (``/api/...``) answer JSON ``{"detail": message}``; pages answer an HTML error page,
and a page that needs a login redirects to ``/login?next=...``.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from rus.errors import ConfigurationError, RusError
from rus.services.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServiceError,
    TooLarge,
    ValidationFailed,
)
from rus.services.mail import MailDeliveryFailed

log = logging.getLogger("rus.portal")


class CsrfFailed(PermissionDenied):
    """A form or cookie-authenticated API call came without a valid CSRF token."""


# Most specific first: the first class in the MRO of the error that appears here wins.
STATUS: dict[type[BaseException], int] = {
    NotFound: 404,
    AuthenticationFailed: 401,
    CsrfFailed: 403,
    PermissionDenied: 403,
    Conflict: 409,
    TooLarge: 413,
    ValidationFailed: 422,
    RateLimited: 429,
    MailDeliveryFailed: 503,
    ServiceError: 400,
    ConfigurationError: 500,
    RusError: 400,
}


def status_for(exc: BaseException) -> int:
    """HTTP status of ``exc`` from :data:`STATUS` (500 for anything unmapped)."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def is_api(request: Request) -> bool:
    """Whether the request targets the JSON API."""
    return request.url.path.startswith("/api/")


async def rus_error_handler(request: Request, exc: Exception) -> Response:
    """Render a ``RusError`` as JSON (API) or an HTML page / login redirect (pages)."""
    status = status_for(exc)
    if status >= 500:
        log.error("%s on %s: %s", type(exc).__name__, request.url.path, exc)
    if is_api(request):
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse({"detail": str(exc)}, status_code=status, headers=headers)
    if status == 401 and request.method == "GET":
        target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        return RedirectResponse(f"/login?next={target}", status_code=303)
    from rus.portal.rendering import render

    return render(
        request, "error.html", {"status": status, "message": str(exc)}, status_code=status
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register :func:`rus_error_handler` for every ``RusError``."""
    app.add_exception_handler(RusError, rus_error_handler)
