"""HTTP plumbing shared by the catalogue clients and the downloader.

Redirects are followed here, not by httpx: httpx drops the ``Authorization`` header when a
redirect changes host, while CDSE's catalogue host redirects downloads to another host that needs
it. Throttling (429), maintenance (503), other 5xx and dropped connections are retried with
exponential backoff (``Retry-After`` honoured).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urljoin

import httpx

from rus.hub.errors import AuthError, DownloadError, HubError, QueryError, QuotaError

log = logging.getLogger("rus.hub.http")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_REDIRECTS = 10


class TokenSource(Protocol):
    """Anything that hands out bearer tokens (:class:`rus.hub.auth.TokenManager`)."""

    def token(self) -> str: ...

    def invalidate(self) -> None: ...


@dataclass
class RetryPolicy:
    """How often and how long to wait before retrying.

    ``backoff * 2**attempt`` seconds (capped at ``max_backoff``) unless the server sends
    ``Retry-After``.
    """

    retries: int = 6
    backoff: float = 0.5
    max_backoff: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep)

    def wait(self, attempt: int, retry_after: str | None = None) -> None:
        delay = self.backoff * 2**attempt
        if retry_after:
            with contextlib.suppress(ValueError):
                delay = float(retry_after)
        self.sleep(min(max(delay, 0.0), self.max_backoff))


def _auth_headers(headers: Mapping[str, str] | None, token: TokenSource | None) -> dict[str, str]:
    out = dict(headers or {})
    if token is not None:
        out["Authorization"] = f"Bearer {token.token()}"
    return out


def send(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    params: Mapping[str, str | int] | None = None,
    headers: Mapping[str, str] | None = None,
    token: TokenSource | None = None,
    policy: RetryPolicy | None = None,
    stream: bool = False,
    ok: frozenset[int] = frozenset({200, 202, 206, 416}),
    content: str | bytes | None = None,
) -> httpx.Response:
    """Send a request, following redirects with the token kept and retrying transient failures.

    Parameters
    ----------
    ok
        Statuses returned to the caller; any other final status raises :class:`HubError`.
    stream
        When True the body is not read; the caller must close the response.

    Raises
    ------
    QuotaError
        Still throttled (429) or in maintenance (503) after the retries.
    DownloadError
        Connection failures or other statuses after the retries.
    """
    policy = policy or RetryPolicy()
    attempt, redirects, reauth = 0, 0, False
    current, current_params = url, params
    while True:
        request = client.build_request(
            method,
            current,
            params=current_params,
            headers=_auth_headers(headers, token),
            content=content,
        )
        try:
            resp = client.send(request, stream=True, follow_redirects=False)
        except httpx.TransportError as exc:
            # a refused connection is rarely transient: give up sooner than on a dropped one
            limit = (
                min(2, policy.retries) if isinstance(exc, httpx.ConnectError) else policy.retries
            )
            if attempt >= limit:
                raise DownloadError(
                    f"{current}: connection failed after {attempt + 1} tries "
                    f"({type(exc).__name__}: {exc})"
                ) from exc
            log.info(
                "connection problem on %s (%s); retrying", request.url.host, type(exc).__name__
            )
            policy.wait(attempt)
            attempt += 1
            continue
        status = resp.status_code
        if status in (301, 302, 303, 307, 308) and "location" in resp.headers:
            resp.close()
            redirects += 1
            if redirects > MAX_REDIRECTS:
                raise DownloadError(f"{url}: more than {MAX_REDIRECTS} redirects")
            current, current_params = urljoin(str(request.url), resp.headers["location"]), None
            if status == 303:
                method = "GET"
            continue
        if status == 401 and token is not None and not reauth:
            resp.close()
            token.invalidate()
            reauth = True
            continue
        if status in RETRY_STATUSES:
            retry_after = resp.headers.get("retry-after")
            resp.close()
            if attempt >= policy.retries:
                what = "throttled (HTTP 429)" if status == 429 else f"HTTP {status}"
                cls = QuotaError if status in (429, 503) else DownloadError
                raise cls(
                    f"{current}: still {what} after {attempt + 1} tries; "
                    "try again later or lower the parallelism"
                )
            log.info("HTTP %s from %s; retrying", status, request.url.host)
            policy.wait(attempt, retry_after)
            attempt += 1
            continue
        if status not in ok:
            body = resp.read()[:300].decode("utf-8", "replace")
            resp.close()
            cls2: type[HubError] = HubError
            if status in (401, 403):
                cls2 = AuthError
            elif status in (400, 422):
                cls2 = QueryError
            raise cls2(f"{current}: HTTP {status} {body}".strip())
        if not stream:
            resp.read()
            resp.close()
        return resp
