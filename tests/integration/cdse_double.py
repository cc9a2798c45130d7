"""A test double of the Copernicus Data Space Ecosystem reproducing its documented behaviour.

Two hosts on 127.0.0.1 (two ports): the *catalogue* host (OData search, Keycloak token endpoint,
``$value`` answered by a 307 redirect to the download host) and the *download* host (bearer
token required). Behaviour reproduced (domain.md section 4): ``$top`` <= 1000, ``$skip`` <=
10,000 (422 beyond), empty checksums with ``ContentLength`` 0, 429 throttling, access tokens
expiring after 10 minutes and refresh tokens after 60 on a simulated clock, servers with and
without Range support, offline products (202). Fault injection: connection cut mid-download,
corrupted bytes on the first transfer.

The filter evaluation here is written independently of :mod:`rus.hub.odata_filter` on purpose.
"""

from __future__ import annotations

import hashlib
import random
import re
import secrets
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from blake3 import blake3
from fastapi import FastAPI, Form, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from rus.hub._serve import serve_in_thread

TOKEN_PATH = "/auth/realms/CDSE/protocol/openid-connect/token"


@dataclass
class SimClock:
    """A settable clock (seconds since the epoch) shared by the double and the client."""

    now: float = 1_790_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Faults:
    """Faults to inject; each counter is consumed as it fires."""

    throttle: int = 0  # next N download requests answer 429
    unavailable: int = 0  # next N download requests answer 503
    cut_after: dict[str, int] = field(default_factory=dict)  # id -> bytes sent before cutting
    corrupt_once: set[str] = field(default_factory=set)
    offline: set[str] = field(default_factory=set)


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def make_product(
    i: int,
    start: datetime,
    *,
    size: int = 0,
    checksum: bool = True,
    collection: str = "SENTINEL-1",
    seed: int = 0,
) -> tuple[dict[str, Any], bytes]:
    """One OData product entity and its bytes (``size`` random bytes, seeded)."""
    data = random.Random(seed * 1_000_003 + i).randbytes(size) if size else b""
    lon, lat = -10 + (i % 40), 35 + (i % 20) * 0.5
    ring = [[lon, lat], [lon + 1, lat], [lon + 1, lat + 1], [lon, lat + 1], [lon, lat]]
    pid = str(uuid.UUID(int=random.Random(seed * 7919 + i).getrandbits(128)))
    name = f"S1A_IW_GRDH_1SDV_{start:%Y%m%dT%H%M%S}_{i:06d}_DOUBLE.SAFE"
    checks = []
    if checksum and data:
        checks = [
            {"Value": hashlib.md5(data).hexdigest(), "Algorithm": "MD5"},
            {"Value": blake3(data).hexdigest(), "Algorithm": "BLAKE3"},
        ]
    doc = {
        "Id": pid,
        "Name": name,
        "ContentType": "application/octet-stream",
        "ContentLength": len(data) if checksum else 0,
        "Online": True,
        "S3Path": f"/eodata/{name}",
        "Checksum": checks,
        "ContentDate": {"Start": _iso(start), "End": _iso(start + timedelta(seconds=25))},
        "PublicationDate": _iso(start + timedelta(hours=3)),
        "GeoFootprint": {"type": "Polygon", "coordinates": [ring]},
        "Collection": collection,
        "Attributes": [
            {"Name": "productType", "Value": "IW_GRDH_1S", "ValueType": "String"},
            {
                "Name": "orbitDirection",
                "Value": "ASCENDING" if i % 2 else "DESCENDING",
                "ValueType": "String",
            },
            {"Name": "relativeOrbitNumber", "Value": i % 175, "ValueType": "Integer"},
        ],
    }
    return doc, data


_DATE = re.compile(r"ContentDate/Start (gt|ge|lt|le) (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")


def _matches(doc: dict[str, Any], flt: str) -> bool:
    m = re.search(r"Collection/Name eq '([^']+)'", flt)
    if m and doc["Collection"] != m[1]:
        return False
    start = doc["ContentDate"]["Start"]
    for op, value in _DATE.findall(flt):
        ok = {"gt": start > value, "ge": start >= value, "lt": start < value, "le": start <= value}[
            op
        ]
        if not ok:
            return False
    m = re.search(
        r"att/Name eq 'productType' and att/OData.CSC.StringAttribute/Value eq "
        r"'([^']+)'",
        flt,
    )
    return not (m and m[1] != "IW_GRDH_1S")


class CdseDouble:
    """The two-host CDSE double; use :meth:`running` to serve it."""

    def __init__(
        self,
        *,
        clock: SimClock | None = None,
        range_support: bool = True,
        users: dict[str, str] | None = None,
        totp_secret: str | None = None,
        access_ttl: float = 600.0,
        refresh_ttl: float = 3600.0,
    ) -> None:
        self.clock = clock or SimClock()
        self.range_support = range_support
        self.users = users or {"alice": "s3cret-password"}
        self.totp_secret = totp_secret
        self.access_ttl, self.refresh_ttl = access_ttl, refresh_ttl
        self.products: list[dict[str, Any]] = []
        self.data: dict[str, bytes] = {}
        self.faults = Faults()
        self.logins = 0
        self.refreshes = 0
        self.download_requests: list[dict[str, Any]] = []
        self.issued: list[str] = []
        self._access: dict[str, float] = {}
        self._refresh: dict[str, float] = {}
        self._lock = threading.Lock()
        self.catalogue_url = self.download_url = self.token_url = ""

    def add(self, doc: dict[str, Any], data: bytes = b"") -> dict[str, Any]:
        self.products.append(doc)
        self.data[doc["Id"]] = data
        return doc

    def add_series(
        self,
        n: int,
        *,
        start: datetime,
        step: timedelta,
        size: int = 0,
        checksum: bool = True,
        seed: int = 0,
    ) -> list[dict[str, Any]]:
        docs = []
        for i in range(n):
            doc, data = make_product(i, start + i * step, size=size, checksum=checksum, seed=seed)
            docs.append(self.add(doc, data))
        return docs

    # -- identity --------------------------------------------------------------------------
    def _issue(self) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        now = self.clock()
        self._access[access] = now + self.access_ttl
        self._refresh[refresh] = now + self.refresh_ttl
        self.issued += [access, refresh]
        return {
            "access_token": access,
            "expires_in": int(self.access_ttl),
            "refresh_token": refresh,
            "refresh_expires_in": int(self.refresh_ttl),
            "token_type": "Bearer",
        }

    def token_valid(self, header: str | None) -> bool:
        if not header or not header.startswith("Bearer "):
            return False
        expiry = self._access.get(header[7:])
        return expiry is not None and self.clock() < expiry

    # -- apps ------------------------------------------------------------------------------
    def catalogue_app(self) -> FastAPI:
        app = FastAPI()

        @app.post(TOKEN_PATH)
        def token(
            grant_type: str = Form(...),
            client_id: str = Form(...),
            username: str | None = Form(None),
            password: str | None = Form(None),
            refresh_token: str | None = Form(None),
            totp: str | None = Form(None),
        ) -> Response:
            with self._lock:
                if client_id != "cdse-public":
                    return JSONResponse({"error": "invalid_client"}, status_code=401)
                if grant_type == "password":
                    if self.users.get(username or "") != password:
                        return JSONResponse(
                            {
                                "error": "invalid_grant",
                                "error_description": "Invalid user credentials",
                            },
                            status_code=401,
                        )
                    if self.totp_secret is not None:
                        from rus.hub.auth import totp as make_totp

                        if totp != make_totp(self.totp_secret, self.clock()):
                            return JSONResponse(
                                {"error": "invalid_grant", "error_description": "Invalid totp"},
                                status_code=401,
                            )
                    self.logins += 1
                    return JSONResponse(self._issue())
                if grant_type == "refresh_token":
                    expiry = self._refresh.get(refresh_token or "")
                    if expiry is None or self.clock() >= expiry:
                        return JSONResponse(
                            {"error": "invalid_grant", "error_description": "Token is not active"},
                            status_code=400,
                        )
                    self.refreshes += 1
                    return JSONResponse(self._issue())
                return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)

        @app.get("/odata/v1/Products")
        def products(request: Request) -> Response:
            p = request.query_params
            top, skip = int(p.get("$top", 20)), int(p.get("$skip", 0))
            if top > 1000 or skip > 10_000:
                return JSONResponse({"detail": "Invalid skip or top value"}, status_code=422)
            flt = p.get("$filter", "")
            hits = [d for d in self.products if _matches(d, flt)]
            desc = p.get("$orderby", "").endswith("desc")
            hits.sort(key=lambda d: (d["ContentDate"]["Start"], d["Id"]), reverse=desc)
            page = hits[skip : skip + top]
            body: dict[str, Any] = {"@odata.context": "$metadata#Products", "value": page}
            if skip + top < len(hits):
                body["@odata.nextLink"] = str(
                    request.url.include_query_params(**{"$skip": skip + top})
                )
            if p.get("$count", "").lower() == "true":
                body["@odata.count"] = len(hits)
            return JSONResponse(body)

        @app.get("/odata/v1/Products({pid})")
        def product(pid: str) -> Response:
            for d in self.products:
                if d["Id"] == pid:
                    return JSONResponse(d)
            return JSONResponse({"detail": "not found"}, status_code=404)

        @app.get("/odata/v1/Products({pid})/$value")
        def value_redirect(pid: str) -> Response:
            return Response(
                status_code=307,
                headers={"Location": f"{self.download_url}/odata/v1/Products({pid})/$value"},
            )

        return app

    def download_app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/odata/v1/Products({pid})/$value")
        def value(pid: str, request: Request) -> Response:
            f = self.faults
            rng = request.headers.get("range")
            self.download_requests.append({"id": pid, "range": rng})
            if not self.token_valid(request.headers.get("authorization")):
                return JSONResponse({"detail": "Expired signature!"}, status_code=401)
            with self._lock:
                if f.throttle > 0:
                    f.throttle -= 1
                    return JSONResponse(
                        {"detail": "Too Many Requests"},
                        status_code=429,
                        headers={"Retry-After": "0"},
                    )
                if f.unavailable > 0:
                    f.unavailable -= 1
                    return JSONResponse({"detail": "maintenance"}, status_code=503)
            if pid in f.offline:
                return JSONResponse(
                    {"detail": "product offline, retrieval ordered"}, status_code=202
                )
            if pid not in self.data:
                return JSONResponse({"detail": "not found"}, status_code=404)
            data = self.data[pid]
            if pid in f.corrupt_once:
                f.corrupt_once.discard(pid)
                data = data[:100] + bytes([data[100] ^ 0xFF]) + data[101:]
            first = 0
            status, headers = 200, {}
            if self.range_support:
                headers["Accept-Ranges"] = "bytes"
                m = re.fullmatch(r"bytes=(\d+)-", rng or "")
                if m:
                    first = int(m[1])
                    if first >= len(data):
                        return Response(
                            status_code=416, headers={"Content-Range": f"bytes */{len(data)}"}
                        )
                    status = 206
                    headers["Content-Range"] = f"bytes {first}-{len(data) - 1}/{len(data)}"
            body = data[first:]
            headers["Content-Length"] = str(len(body))
            cut = f.cut_after.pop(pid, None)
            return StreamingResponse(
                _stream(body, cut),
                status_code=status,
                headers=headers,
                media_type="application/octet-stream",
            )

        return app

    @contextmanager
    def running(self) -> Iterator[CdseDouble]:
        with ExitStack() as stack:
            self.download_url = stack.enter_context(
                serve_in_thread(self.download_app(), log_level="critical")
            )
            base = stack.enter_context(serve_in_thread(self.catalogue_app(), log_level="critical"))
            self.catalogue_url = f"{base}/odata/v1"
            self.token_url = f"{base}{TOKEN_PATH}"
            yield self


async def _stream(body: bytes, cut: int | None) -> AsyncIterator[bytes]:
    step = 64 * 1024
    for i in range(0, len(body), step):
        if cut is not None and i >= cut:
            raise ConnectionResetError("fault injection: connection cut mid-download")
        yield body[i : i + step]


def now_utc() -> datetime:
    return datetime.now(UTC)
