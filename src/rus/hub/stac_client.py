"""STAC API client (CDSE ``https://stac.dataspace.copernicus.eu/v1`` or a rus hub's ``/stac``):
the second search backend. Filters are sent as CQL2-JSON; paging follows ``next`` links."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

from rus.hub.http import RetryPolicy, send
from rus.hub.query import SearchQuery, odata_datetime
from rus.hub.records import ProductRecord
from rus.hub.stac import record_from_item, stac_collection_id

CDSE_STAC = "https://stac.dataspace.copernicus.eu/v1"


def cql2_filter(query: SearchQuery) -> dict[str, Any] | None:
    """The CQL2-JSON ``filter`` for the attribute parts of ``query`` (None when there are none)."""
    args: list[dict[str, Any]] = []
    if query.cloud_max is not None:
        args.append({"op": "<=", "args": [{"property": "eo:cloud_cover"}, query.cloud_max]})
    if query.orbit_direction:
        args.append(
            {"op": "=", "args": [{"property": "sat:orbit_state"}, query.orbit_direction.lower()]}
        )
    if query.relative_orbit is not None:
        args.append({"op": "=", "args": [{"property": "sat:relative_orbit"}, query.relative_orbit]})
    if query.tile:
        args.append({"op": "=", "args": [{"property": "grid:code"}, f"MGRS-{query.tile}"]})
    if not args:
        return None
    return args[0] if len(args) == 1 else {"op": "and", "args": args}


def search_body(query: SearchQuery, *, page_size: int = 100) -> dict[str, Any]:
    """The POST ``/search`` body of ``query``."""
    from shapely.geometry import mapping

    body: dict[str, Any] = {
        "collections": [stac_collection_id(query.collection, query.product_type)],
        "limit": page_size if query.limit is None else min(page_size, query.limit),
        "sortby": [
            {"field": "properties.datetime", "direction": "desc" if query.descending else "asc"}
        ],
    }
    if query.aoi is not None:
        body["intersects"] = mapping(query.aoi)
    if query.start or query.end:
        lo = odata_datetime(query.start) if query.start else ".."
        hi = odata_datetime(query.end) if query.end else ".."
        body["datetime"] = f"{lo}/{hi}"
    if (filt := cql2_filter(query)) is not None:
        body["filter"] = filt
        body["filter-lang"] = "cql2-json"
    return body


class StacClient:
    """Search a STAC API; yields :class:`ProductRecord` (download href kept in ``href``)."""

    def __init__(
        self,
        base_url: str = CDSE_STAC,
        *,
        client: httpx.Client | None = None,
        policy: RetryPolicy | None = None,
        page_size: int = 100,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client or httpx.Client(timeout=60.0)
        self.policy = policy or RetryPolicy()
        self.page_size = page_size

    def search(self, query: SearchQuery) -> Iterator[ProductRecord]:
        """All items matching ``query``, following ``next`` links."""
        body: dict[str, Any] | None = search_body(query, page_size=self.page_size)
        url, method = f"{self.base_url}/search", "POST"
        count = 0
        seen: set[str] = set()
        while True:
            if method == "POST":
                resp = send_json(self.client, url, body, self.policy)
            else:
                resp = send(self.client, "GET", url, policy=self.policy, ok=frozenset({200}))
            doc = resp.json()
            for item in doc.get("features", []):
                rec = record_from_item(item)
                if rec.id in seen:
                    continue
                seen.add(rec.id)
                asset = (
                    (item.get("assets") or {}).get("product")
                    or (item.get("assets") or {}).get("Product")
                    or {}
                )
                rec.href = asset.get("href")
                yield rec
                count += 1
                if query.limit is not None and count >= query.limit:
                    return
            nxt = next((ln for ln in doc.get("links", []) if ln.get("rel") == "next"), None)
            if nxt is None or not doc.get("features"):
                return
            url = nxt["href"]
            method = str(nxt.get("method", "GET")).upper()
            if method == "POST":
                body = {**(body or {}), **nxt["body"]} if nxt.get("merge") else nxt.get("body")


def send_json(
    client: httpx.Client, url: str, body: dict[str, Any] | None, policy: RetryPolicy
) -> httpx.Response:
    """POST a JSON body with the shared retry policy."""
    import json

    return send(
        client,
        "POST",
        url,
        headers={"Content-Type": "application/json"},
        policy=policy,
        ok=frozenset({200}),
        content=json.dumps(body or {}),
    )
