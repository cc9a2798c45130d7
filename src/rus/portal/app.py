"""The portal application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from rus.settings import Settings

log = logging.getLogger("rus.portal")
DESK_CACHE_TTL_S = 10.0  # the desk dashboard's figures are at most this old
COUNT_CACHE_TTL_S = 5.0  # list totals written by another worker process show within this
STATIC_DIR = Path(__file__).parent / "static"
VENDOR_FILES = (
    "pico/pico.min.css",
    "htmx/htmx.min.js",
    "leaflet/leaflet.js",
    "leaflet-draw/leaflet.draw.js",
    "swagger-ui/swagger-ui-bundle.js",
)


def vendor_assets_present(static_dir: Path = STATIC_DIR) -> bool:
    """Whether ``scripts/build-assets.sh`` has installed the npm assets; warn if not."""
    missing = [f for f in VENDOR_FILES if not (static_dir / "vendor" / f).is_file()]
    if missing:
        log.warning(
            "portal static assets missing (%s): run 'bash scripts/build-assets.sh'; pages "
            "work without styling and the AOI map falls back to text input",
            ", ".join(missing),
        )
    return not missing


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Size the thread pool that runs sync endpoints and dependencies (``portal_threads``).

    Request work is mostly CPU under the GIL: a few threads per process serve more requests,
    with a far tighter latency spread, than the default 40 that hand the GIL to each other.
    """
    import anyio.to_thread

    limiter = anyio.to_thread.current_default_thread_limiter()
    limiter.total_tokens = app.state.settings.portal_threads
    yield


def engine_options(url: str) -> dict[str, Any]:
    """Connection-pool options for the portal's engine.

    A server database gets a ping on checkout (connections dropped by the server are replaced).
    A SQLite file has no server to lose, so no ping (one query less per request), and a pool as
    large as the request thread pool (40), so connections are reused instead of re-opened.
    """
    if url.startswith("sqlite"):
        return {"pool_size": 40, "max_overflow": 40}
    return {"pool_pre_ping": True}


def create_app(settings: Settings) -> FastAPI:
    """Build the portal: pages, the ``/api/v1`` JSON API, static files, sessions, error table.

    The database must already be migrated (``rus db upgrade``; ``rus serve`` does it).
    """
    from rus.db.base import make_engine, make_sessionmaker
    from rus.portal.cache import TTLCache
    from rus.portal.errors import install_error_handlers
    from rus.portal.rendering import make_templates
    from rus.portal.routers import (
        api_admin,
        api_auth,
        api_requests,
        pages_admin,
        pages_auth,
        pages_requests,
    )

    app = FastAPI(
        lifespan=_lifespan,
        title="RUS portal",
        version="1",
        description="Research and User Support: accounts, service requests, ICT sizing, desks.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    engine = make_engine(settings.sqlalchemy_url, **engine_options(settings.sqlalchemy_url))
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.templates = make_templates(reload=settings.environment == "development")
    app.state.assets_ok = vendor_assets_present()
    app.state.desk_cache = TTLCache(DESK_CACHE_TTL_S)
    app.state.count_cache = TTLCache(COUNT_CACHE_TTL_S)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="rus_session",
        max_age=settings.session_max_age_s,
        same_site="lax",
        https_only=settings.base_url.startswith("https://"),
    )
    install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")
    for module in (api_auth, api_requests, api_admin):
        app.include_router(module.router, prefix="/api/v1")
    for module in (pages_auth, pages_requests, pages_admin):
        app.include_router(module.router, include_in_schema=False)

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> Response:
        """Swagger UI served from the local vendor assets (no CDN)."""
        if not app.state.assets_ok:
            return HTMLResponse(
                "<p>API explorer assets missing (run scripts/build-assets.sh); the schema is at "
                '<a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p>'
            )
        return get_swagger_ui_html(
            openapi_url="/api/v1/openapi.json",
            title="RUS portal API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
