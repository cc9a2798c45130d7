"""STAC API routes of the hub server (``/stac``): landing, collections, items, item search."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from rus.db.base import session_scope
from rus.db.models.store import StoredProduct
from rus.hub.errors import QueryError, StoreError
from rus.hub.query import SearchQuery, parse_aoi, parse_period
from rus.hub.stac import PROPERTY_TO_ATTRIBUTE, STAC_VERSION, odata_collection, stac_collection_id
from rus.hub.store import ProductStore

CONFORMANCE = [
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/collections",
    "https://api.stacspec.org/v1.0.0/ogcapi-features",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/item-search#filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
]
MAX_LIMIT = 1000
_OPS = {"=": "eq", "<=": "le", "<": "lt", ">=": "ge", ">": "gt"}


def cql2_to_query(q: SearchQuery, node: dict[str, Any] | None) -> SearchQuery:
    """Apply a CQL2-JSON filter made of ``and`` and comparisons on the supported properties."""
    if not node:
        return q
    op = node.get("op")
    args = node.get("args") or []
    if op == "and":
        for arg in args:
            q = cql2_to_query(q, arg)
        return q
    if op not in _OPS or len(args) != 2 or not isinstance(args[0], dict):
        raise QueryError(f"unsupported CQL2 expression {json.dumps(node)[:120]}")
    prop, value = args[0].get("property"), args[1]
    if prop == "eo:cloud_cover" and op in ("<=", "<"):
        return replace(q, cloud_max=float(value))
    if prop == "sat:orbit_state" and op == "=":
        return replace(q, orbit_direction=str(value).upper())  # type: ignore[arg-type]
    if prop == "sat:relative_orbit" and op == "=":
        return replace(q, relative_orbit=int(value))
    if prop in ("grid:code", "s2:mgrs_tile") and op == "=":
        return replace(q, tile=str(value).removeprefix("MGRS-"))
    if prop == "product:type" and op == "=":
        return replace(q, product_type=str(value))
    supported = ", ".join(PROPERTY_TO_ATTRIBUTE)
    raise QueryError(f"unsupported CQL2 comparison on {prop!r} (supported: {supported})")


def _collections(store: ProductStore) -> dict[str, int]:
    with session_scope(store._sessions) as s:
        rows = s.execute(
            select(StoredProduct.collection, StoredProduct.product_type).where(
                StoredProduct.status == "ok"
            )
        ).all()
    out: dict[str, int] = {}
    for coll, ptype in rows:
        cid = stac_collection_id(coll, ptype)
        out[cid] = out.get(cid, 0) + 1
    return out


def _collection_doc(base: str, cid: str, count: int) -> dict[str, Any]:
    return {
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "id": cid,
        "description": f"{cid} products held in the rus product store ({count})",
        "license": "other",
        "extent": {
            "spatial": {"bbox": [[-180, -90, 180, 90]]},
            "temporal": {"interval": [[None, None]]},
        },
        "links": [
            {"rel": "self", "href": f"{base}/collections/{cid}"},
            {"rel": "items", "href": f"{base}/collections/{cid}/items"},
        ],
    }


def _item(store: ProductStore, row: StoredProduct, root: str) -> dict[str, Any]:
    item: dict[str, Any] = json.loads(row.stac_item)
    item["assets"]["product"]["href"] = f"{root}/odata/v1/Products({row.id})/$value"
    item["links"] = [
        {"rel": "self", "href": f"{root}/stac/collections/{item['collection']}/items/{row.name}"},
        {"rel": "collection", "href": f"{root}/stac/collections/{item['collection']}"},
    ]
    return item


def _search(store: ProductStore, request: Request, params: dict[str, Any]) -> dict[str, Any]:
    root = str(request.base_url).rstrip("/")
    collections = params.get("collections") or []
    if isinstance(collections, str):
        collections = [c for c in collections.split(",") if c]
    if len(collections) > 1:
        raise QueryError("search one collection at a time")
    q = SearchQuery(collection="*")
    if collections:
        coll, ptype = odata_collection(collections[0])
        q = replace(q, collection=coll, product_type=ptype)
    if params.get("intersects"):
        q = replace(q, aoi=parse_aoi(params["intersects"]))
    elif params.get("bbox"):
        bbox = params["bbox"]
        q = replace(q, aoi=parse_aoi(bbox if not isinstance(bbox, str) else bbox.strip()))
    if params.get("datetime"):
        text = str(params["datetime"])
        lo, hi = parse_period(text if "/" in text else f"{text}/{text}")
        q = replace(q, start=lo, end=hi)
    filt = params.get("filter")
    if isinstance(filt, str):
        if params.get("filter-lang", "cql2-json") != "cql2-json" or not filt.startswith("{"):
            raise QueryError("only cql2-json filters are supported")
        filt = json.loads(filt)
    q = cql2_to_query(q, filt)
    for sort in params.get("sortby") or []:
        field = sort.get("field") if isinstance(sort, dict) else str(sort)
        desc = (
            (sort.get("direction") == "desc")
            if isinstance(sort, dict)
            else str(sort).startswith("-")
        )
        if str(field).lstrip("+-").removeprefix("properties.") in ("datetime", "start_datetime"):
            q = replace(q, descending=desc)
    limit = int(params.get("limit") or 10)
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit must be within 1..{MAX_LIMIT}")
    offset = int(params.get("token") or 0)
    result = store.query(q, offset=offset, limit=limit)
    links: list[dict[str, Any]] = [{"rel": "root", "href": f"{root}/stac"}]
    if offset + len(result.rows) < result.total:
        nxt = {k: v for k, v in params.items() if k != "token"}
        nxt["token"] = str(offset + limit)
        links.append(
            {
                "rel": "next",
                "href": f"{root}/stac/search",
                "method": "POST",
                "body": nxt,
                "type": "application/geo+json",
            }
        )
    return {
        "type": "FeatureCollection",
        "features": [_item(store, r, root) for r in result.rows],
        "numberMatched": result.total,
        "numberReturned": len(result.rows),
        "links": links,
    }


def add_stac_routes(app: FastAPI, store: ProductStore) -> None:
    """Register the ``/stac`` routes on ``app``."""

    @app.get("/stac")
    def stac_landing(request: Request) -> dict[str, Any]:
        base = str(request.base_url).rstrip("/") + "/stac"
        return {
            "type": "Catalog",
            "stac_version": STAC_VERSION,
            "id": "rus-hub",
            "description": "rus product store (STAC API)",
            "conformsTo": CONFORMANCE,
            "links": [
                {"rel": "self", "href": base},
                {"rel": "root", "href": base},
                {"rel": "conformance", "href": f"{base}/conformance"},
                {"rel": "data", "href": f"{base}/collections"},
                {"rel": "search", "href": f"{base}/search", "method": "GET"},
                {"rel": "search", "href": f"{base}/search", "method": "POST"},
            ],
        }

    @app.get("/stac/conformance")
    def conformance() -> dict[str, Any]:
        return {"conformsTo": CONFORMANCE}

    @app.get("/stac/collections")
    def collections(request: Request) -> dict[str, Any]:
        base = str(request.base_url).rstrip("/") + "/stac"
        docs = [_collection_doc(base, c, n) for c, n in sorted(_collections(store).items())]
        return {"collections": docs, "links": [{"rel": "self", "href": f"{base}/collections"}]}

    @app.get("/stac/collections/{cid}")
    def collection(cid: str, request: Request) -> JSONResponse:
        counts = _collections(store)
        if cid not in counts:
            return JSONResponse({"detail": f"no collection {cid!r}"}, status_code=404)
        base = str(request.base_url).rstrip("/") + "/stac"
        return JSONResponse(_collection_doc(base, cid, counts[cid]))

    @app.get("/stac/collections/{cid}/items")
    def items(cid: str, request: Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query_params)
        params["collections"] = [cid]
        return _search(store, request, params)

    @app.get("/stac/collections/{cid}/items/{item_id}")
    def item(cid: str, item_id: str, request: Request) -> JSONResponse:
        row = store.get(item_id)
        root = str(request.base_url).rstrip("/")
        if row is None or row.status != "ok":
            raise StoreError(f"no item {item_id!r} in collection {cid!r}")
        doc = _item(store, row, root)
        if doc["collection"] != cid:
            raise StoreError(f"no item {item_id!r} in collection {cid!r}")
        return JSONResponse(doc)

    @app.get("/stac/search")
    def search_get(request: Request) -> dict[str, Any]:
        return _search(store, request, dict(request.query_params))

    @app.post("/stac/search")
    async def search_post(request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            raise QueryError("the search body is not JSON") from None
        if not isinstance(body, dict):
            raise QueryError("the search body must be a JSON object")
        from starlette.concurrency import run_in_threadpool

        return JSONResponse(await run_in_threadpool(_search, store, request, body))
