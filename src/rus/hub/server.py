"""The local hub server: the product store served with CDSE's OData subset and a STAC API.

``create_hub_app(store)`` answers the same requests the client sends to CDSE
(``/odata/v1/Products?$filter=...``, ``Products(<Id>)``, ``Products(<Id>)/$value`` with Range,
``Products(<Id>)/Nodes(...)``) and a STAC API under ``/stac``. With ``upstream`` it proxies
catalogue searches to CDSE and, on a download miss, fetches the product through the client into
the store first (the shared cache RUS ran).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from rus.errors import RusError
from rus.hub.download import Downloader
from rus.hub.errors import (
    CorruptProductError,
    HubError,
    OfflineProductError,
    QueryError,
    StoreError,
    UnsafeNameError,
)
from rus.hub.files import file_response, node_segments, zip_children, zip_member
from rus.hub.odata import MAX_TOP, SKIP_CAP, ODataClient
from rus.hub.odata_filter import parse_filter, parse_orderby
from rus.hub.records import ProductRecord, check_name
from rus.hub.store import ProductStore
from rus.hub.store_ops import fetch_into_store

log = logging.getLogger("rus.hub.server")


@dataclass
class Upstream:
    """A CDSE-like source behind the hub: its catalogue client and an authenticated downloader."""

    catalogue: ODataClient
    downloader: Downloader
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def lock(self, product_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(product_id, threading.Lock())


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status)


def _status_of(exc: RusError) -> int:
    if isinstance(exc, UnsafeNameError | QueryError):
        return 400
    if isinstance(exc, CorruptProductError):
        return 410
    if isinstance(exc, StoreError):
        return 404
    return 502


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise QueryError(f"{name} must be an integer, got {raw!r}") from None


def create_hub_app(
    store: ProductStore,
    *,
    upstream: Upstream | None = None,
    range_support: bool = True,
    rate_limit: float | None = None,
    skip_cap: int = SKIP_CAP,
    title: str = "rus hub",
) -> FastAPI:
    """Build the hub's ASGI app.

    Parameters
    ----------
    store
        The product store to serve.
    upstream
        Optional CDSE-like source for searches and download misses (``--upstream``).
    range_support
        Answer byte ranges (206); False reproduces servers that ignore ``Range``.
    rate_limit
        Bytes per second per download (e.g. 20e6, CDSE's per-connection quota); None = no limit.
    skip_cap
        Largest ``$skip`` accepted (10,000 like CDSE; 422 beyond).
    """
    app = FastAPI(title=title, docs_url="/docs", redoc_url=None)

    @app.exception_handler(RusError)
    async def _rus_error(_request: Request, exc: RusError) -> JSONResponse:
        return _error(_status_of(exc), str(exc))

    @app.get("/")
    def landing(request: Request) -> dict[str, Any]:
        base = str(request.base_url).rstrip("/")
        return {
            "title": title,
            "odata": f"{base}/odata/v1",
            "stac": f"{base}/stac",
            "upstream": upstream.catalogue.base_url if upstream else None,
        }

    @app.get("/odata/v1/Products")
    def products(request: Request) -> Response:
        if upstream is not None:
            return _proxy_search(request, upstream)
        params = request.query_params
        top = _int_param(request, "$top", 20)
        skip = _int_param(request, "$skip", 0)
        if top < 0 or top > MAX_TOP:
            return _error(422, f"$top must be within 0..{MAX_TOP}")
        if skip < 0 or skip > skip_cap:
            return _error(422, f"$skip must be within 0..{skip_cap}")
        q = parse_orderby(parse_filter(params.get("$filter")), params.get("$orderby"))
        result = store.query(q, offset=skip, limit=top)
        expand = "Attributes" in (params.get("$expand") or "")
        body: dict[str, Any] = {
            "@odata.context": "$metadata#Products",
            "value": [store.record(r).to_odata(expand=expand) for r in result.rows],
        }
        if params.get("$count", "").lower() == "true":
            body["@odata.count"] = result.total
        if skip + len(result.rows) < result.total and top > 0:
            nxt = dict(params)
            nxt["$skip"] = str(skip + top)
            body["@odata.nextLink"] = f"{str(request.url).split('?')[0]}?{urlencode(nxt)}"
        return JSONResponse(body)

    @app.get("/odata/v1/Products({product_id})")
    def product(product_id: str) -> Response:
        return JSONResponse(_record(product_id).to_odata(expand=True))

    def _record(product_id: str) -> ProductRecord:
        check_name(product_id, "product id")
        row = store.get(product_id)
        if row is not None:
            return store.record(row)
        if upstream is not None:
            return upstream.catalogue.get(product_id)
        raise StoreError(f"no product {product_id!r} in the store")

    @app.get("/odata/v1/Products({product_id})/$value")
    def value(product_id: str, request: Request) -> Response:
        check_name(product_id, "product id")
        row = store.get(product_id)
        if (row is None or row.status != "ok") and upstream is not None:
            outcome = _fetch_miss(product_id, upstream)
            if outcome is not None:
                return outcome
            row = store.get(product_id)
        if row is None:
            return _error(404, f"no product {product_id!r} in the store")
        path = store.open_path(row.id)
        headers = {}
        if row.md5:
            headers["X-Checksum-MD5"] = row.md5
        return file_response(
            path,
            range_header=request.headers.get("range"),
            filename=row.file_name,
            range_support=range_support,
            rate=rate_limit,
            extra_headers=headers,
        )

    def _fetch_miss(product_id: str, up: Upstream) -> Response | None:
        with up.lock(product_id):
            row = store.get(product_id)
            if row is not None and row.status == "ok":
                return None
            rec = up.catalogue.get(product_id)
            results = fetch_into_store(
                store,
                [rec],
                lambda r: up.catalogue.download_url(r.id),
                up.downloader,
                source=up.catalogue.base_url,
            )
            res = results[0]
            if res.status == "offline":
                return _error(202, res.message)
            if res.status not in ("downloaded", "present"):
                return _error(502, f"upstream download failed: {res.message}")
            return None

    @app.get("/odata/v1/Products({product_id})/{rest:path}")
    def nodes(product_id: str, rest: str) -> Response:
        check_name(product_id, "product id")
        want_value = rest.endswith("/$value")
        rest = rest.removesuffix("/$value")
        listing = rest.endswith("/Nodes") or rest == "Nodes"
        rest = rest.removesuffix("Nodes").rstrip("/")
        segments = node_segments(rest) if rest else []
        row = store.get(product_id)
        if row is None:
            return _error(404, f"no product {product_id!r} in the store")
        path = store.open_path(row.id)
        import zipfile

        if not zipfile.is_zipfile(path):
            raise UnsafeNameError(f"{row.name} is a single file: it has no nodes")
        if want_value and not listing:
            data = zip_member(path, segments)
            if data is None:
                return _error(404, f"no node {'/'.join(segments)} in {row.name}")
            return Response(data, media_type="application/octet-stream")
        if not listing:
            return _error(400, "use .../Nodes to list or .../$value to download a node")
        base = f"/odata/v1/Products({product_id})" + "".join(f"/Nodes({s})" for s in segments)
        children = zip_children(path, segments)
        return JSONResponse(
            {
                "result": [
                    {
                        "Id": name,
                        "Name": name,
                        "ContentLength": size,
                        "ChildrenNumber": int(folder),
                        "Nodes": {"uri": f"{base}/Nodes({name})/Nodes"},
                    }
                    for name, size, folder in children
                ]
            }
        )

    from rus.hub.server_stac import add_stac_routes

    add_stac_routes(app, store)
    return app


def _proxy_search(request: Request, up: Upstream) -> Response:
    """Forward a catalogue search upstream; rewrite its ``nextLink`` to this hub."""
    from rus.hub.http import send

    resp = send(
        up.catalogue.client,
        "GET",
        f"{up.catalogue.base_url}/Products",
        params=dict(request.query_params),
        policy=up.catalogue.policy,
        ok=frozenset({200, 400, 422}),
    )
    body = resp.json()
    link = body.get("@odata.nextLink")
    if isinstance(link, str):
        mine, theirs = urlsplit(str(request.url)), urlsplit(link)
        body["@odata.nextLink"] = urlunsplit(
            (mine.scheme, mine.netloc, mine.path, theirs.query, "")
        )
    return JSONResponse(body, status_code=resp.status_code)


__all__ = ["HubError", "OfflineProductError", "Upstream", "create_hub_app"]
