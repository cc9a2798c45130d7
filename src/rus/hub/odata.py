"""CDSE OData catalogue client with transparent paging past the ``$skip`` cap.

CDSE answers at most ``$top=1000`` products per page and refuses ``$skip`` beyond 10,000 (HTTP
422). :meth:`ODataClient.search` pages with ``$skip`` and, when the cap is reached, splits the
period: the next window starts at the sensing start of the last product seen (products sharing
that instant are de-duplicated by ``Id``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx

from rus.hub.errors import HubError, QueryError
from rus.hub.http import RetryPolicy, TokenSource, send
from rus.hub.query import SearchQuery, build_filter, build_orderby
from rus.hub.records import ProductRecord

log = logging.getLogger("rus.hub.odata")

CDSE_CATALOGUE = "https://catalogue.dataspace.copernicus.eu/odata/v1"
MAX_TOP = 1000
SKIP_CAP = 10_000


class ODataClient:
    """Search and describe products of an OData catalogue (CDSE or a ``rus hub``).

    Parameters
    ----------
    base_url
        The service root, e.g. ``https://catalogue.dataspace.copernicus.eu/odata/v1``.
    client
        Shared HTTP client.
    page_size
        ``$top`` per request (at most 1000).
    skip_cap
        Largest ``$skip`` the server accepts (10,000 on CDSE).
    """

    def __init__(
        self,
        base_url: str = CDSE_CATALOGUE,
        *,
        client: httpx.Client | None = None,
        policy: RetryPolicy | None = None,
        page_size: int = MAX_TOP,
        skip_cap: int = SKIP_CAP,
        token: TokenSource | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client or httpx.Client(timeout=60.0)
        self.policy = policy or RetryPolicy()
        self.page_size = max(1, min(page_size, MAX_TOP))
        self.skip_cap = skip_cap
        self.token = token
        self.requests = 0

    def _get(self, path: str, params: dict[str, str | int] | None = None) -> httpx.Response:
        self.requests += 1
        return send(
            self.client,
            "GET",
            f"{self.base_url}/{path}",
            params=params,
            token=self.token,
            policy=self.policy,
            ok=frozenset({200}),
        )

    def get(self, product_id: str) -> ProductRecord:
        """One product by ``Id`` (with its attributes)."""
        from rus.hub.records import check_name

        check_name(product_id, "product id")
        resp = self._get(f"Products({product_id})", {"$expand": "Attributes"})
        return ProductRecord.from_odata(resp.json())

    def count(self, query: SearchQuery) -> int:
        """Number of products matching ``query`` (``$count=True``, one request)."""
        resp = self._get("Products", {"$filter": build_filter(query), "$top": 1, "$count": "True"})
        return int(resp.json().get("@odata.count", 0))

    def download_url(self, product_id: str) -> str:
        """``.../Products(<Id>)/$value`` on this catalogue (CDSE redirects to its download host)."""
        return f"{self.base_url}/Products({product_id})/$value"

    def search(self, query: SearchQuery) -> Iterator[ProductRecord]:
        """All products matching ``query``, lazily, page by page (no cap on the total)."""
        seen: set[str] = set()
        window = query
        skip = 0
        yielded = 0
        progress_mark: tuple[object, int] | None = None
        last_start: datetime | None = None
        while query.limit is None or yielded < query.limit:
            top = self.page_size
            if query.limit is not None:
                top = min(top, query.limit - yielded)
            if skip > self.skip_cap:
                window, skip = self._split(window, last_start, progress_mark)
                progress_mark = (window.start if not query.descending else window.end, len(seen))
            params: dict[str, str | int] = {
                "$filter": build_filter(window),
                "$orderby": build_orderby(window),
                "$top": top,
                "$skip": skip,
                "$expand": "Attributes",
            }
            try:
                resp = self._get("Products", params)
            except QueryError:
                if skip == 0:
                    raise
                self.skip_cap = skip - top  # the server's cap is lower than assumed
                skip = self.skip_cap + 1
                continue
            body = resp.json()
            page = body.get("value", [])
            for doc in page:
                rec = ProductRecord.from_odata(doc)
                last_start = rec.start
                if rec.id in seen:
                    continue
                seen.add(rec.id)
                yielded += 1
                yield rec
                if query.limit is not None and yielded >= query.limit:
                    return
            if not page or (len(page) < top and "@odata.nextLink" not in body):
                return
            skip += len(page)

    def _split(
        self, window: SearchQuery, last_start: datetime | None, mark: tuple[object, int] | None
    ) -> tuple[SearchQuery, int]:
        if window.order_by != "ContentDate/Start":
            raise QueryError(
                f"more than {self.skip_cap} results sorted by {window.order_by}: sort by "
                "ContentDate/Start (the default) or narrow the search"
            )
        if last_start is None:
            raise HubError("cannot split the period: the catalogue gave products without dates")
        if window.descending:
            new = window.with_period(window.start, last_start + timedelta(milliseconds=1))
            key: object = new.end
        else:
            new = window.with_period(last_start, window.end)
            key = new.start
        if mark is not None and mark[0] == key:
            raise QueryError(
                f"more than {self.skip_cap} products share the sensing start {key}; "
                "narrow the search"
            )
        log.info("skip cap reached: continuing from %s", key)
        return new, 0
