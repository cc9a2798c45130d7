"""CDSE authentication: one Keycloak password grant, then refresh tokens for the whole run.

Each password login opens a Keycloak session and CDSE allows at most 100, so
:class:`TokenManager` logs in once, refreshes the access token (~10 min) with the refresh token
(~60 min) and only logs in again when the refresh token itself has expired. Tokens are cached in a
mode-0600 file and never written to logs (:class:`RedactingFilter`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import logging
import netrc
import os
import re
import struct
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

from rus._io import atomic_path
from rus.hub.errors import AuthError

log = logging.getLogger("rus.hub.auth")

CLIENT_ID = "cdse-public"
#: Seconds before expiry at which a token is considered stale (clock skew, request time).
EXPIRY_MARGIN_S = 30.0

Clock = Callable[[], float]


@dataclass(frozen=True)
class Credentials:
    """A CDSE account: user name, password and optionally a TOTP secret (base32) or code."""

    username: str
    password: str
    totp_secret: str | None = None
    totp_code: str | None = None

    def __repr__(self) -> str:  # never show the password
        return f"Credentials(username={self.username!r}, password='***')"


def totp(secret: str, at: float, *, step: int = 30, digits: int = 6) -> str:
    """RFC 6238 time-based one-time password of a base32 ``secret`` at Unix time ``at``."""
    key = base64.b32decode(secret.replace(" ", "").upper() + "=" * (-len(secret) % 8))
    counter = struct.pack(">Q", int(at // step))
    digest = hmac.new(key, counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{code % 10**digits:0{digits}d}"


def find_credentials(
    host: str,
    *,
    env: Mapping[str, str] | None = None,
    netrc_path: str | os.PathLike[str] | None = None,
) -> Credentials | None:
    """Look for credentials: env ``RUS_CDSE_USERNAME``/``RUS_CDSE_PASSWORD`` (and
    ``RUS_CDSE_TOTP_SECRET``), then ``~/.netrc`` (machine ``host``), then the system keyring
    (service ``rus-cdse``) when the optional ``keyring`` package is installed."""
    env = os.environ if env is None else env
    user, password = env.get("RUS_CDSE_USERNAME"), env.get("RUS_CDSE_PASSWORD")
    totp_secret = env.get("RUS_CDSE_TOTP_SECRET") or None
    if user and password:
        return Credentials(user, password, totp_secret)
    path = Path(netrc_path) if netrc_path else Path.home() / ".netrc"
    if path.is_file():
        try:
            entry = netrc.netrc(str(path)).authenticators(host)
        except (netrc.NetrcParseError, OSError) as exc:
            raise AuthError(f"{path}: unreadable netrc file ({exc})") from exc
        if entry and entry[0] and entry[2]:
            return Credentials(entry[0], entry[2], totp_secret)
    try:
        import keyring  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    if user:
        secret = keyring.get_password("rus-cdse", user)
        if secret:
            return Credentials(user, str(secret), totp_secret)
    return None


@dataclass
class _Tokens:
    access: str
    access_expires: float
    refresh: str | None
    refresh_expires: float


class TokenManager:
    """Thread-safe provider of a valid access token for one run (and across runs via the cache).

    Parameters
    ----------
    token_url
        Keycloak token endpoint.
    credentials
        The account; needed only when no valid cached/refreshable token exists.
    client
        The HTTP client to use (shared with the downloads).
    cache_path
        Optional JSON cache of the tokens (mode 0600).
    clock
        Returns the current Unix time; injectable for tests (simulated expiry).
    """

    def __init__(
        self,
        token_url: str,
        credentials: Credentials | None,
        *,
        client: httpx.Client | None = None,
        cache_path: str | os.PathLike[str] | None = None,
        clock: Clock = time.time,
        client_id: str = CLIENT_ID,
    ) -> None:
        self.token_url = token_url
        self.credentials = credentials
        self.client = client or httpx.Client(timeout=30.0)
        self.cache_path = Path(cache_path) if cache_path else None
        self.clock = clock
        self.client_id = client_id
        self.logins = 0
        self.refreshes = 0
        self._lock = threading.Lock()
        install_log_filter()
        self._tokens: _Tokens | None = self._load_cache()

    def token(self) -> str:
        """A valid access token: cached, refreshed, or (last resort) from a password login."""
        with self._lock:
            now = self.clock()
            tok = self._tokens
            if tok and now < tok.access_expires - EXPIRY_MARGIN_S:
                return tok.access
            if tok and tok.refresh and now < tok.refresh_expires - EXPIRY_MARGIN_S:
                try:
                    self._tokens = self._grant(
                        {"grant_type": "refresh_token", "refresh_token": tok.refresh}
                    )
                    self.refreshes += 1
                    log.info("access token refreshed")
                    self._save_cache()
                    return self._tokens.access
                except AuthError:
                    log.info("refresh refused; logging in again")
            self._tokens = self._login()
            self._save_cache()
            return self._tokens.access

    def invalidate(self) -> None:
        """Forget the access token (after a 401): the next :meth:`token` refreshes."""
        with self._lock:
            if self._tokens is not None:
                self._tokens.access_expires = 0.0

    def _login(self) -> _Tokens:
        if self.credentials is None:
            raise AuthError(
                f"{self.token_url}: no CDSE credentials; set RUS_CDSE_USERNAME and "
                "RUS_CDSE_PASSWORD, or add the identity host to ~/.netrc"
            )
        form = {
            "grant_type": "password",
            "username": self.credentials.username,
            "password": self.credentials.password,
        }
        if self.credentials.totp_code:
            form["totp"] = self.credentials.totp_code
        elif self.credentials.totp_secret:
            form["totp"] = totp(self.credentials.totp_secret, self.clock())
        tokens = self._grant(form)
        self.logins += 1
        log.info(
            "logged in to %s as %s", urlparse(self.token_url).netloc, self.credentials.username
        )
        return tokens

    def _grant(self, form: dict[str, str]) -> _Tokens:
        now = self.clock()
        try:
            resp = self.client.post(self.token_url, data={**form, "client_id": self.client_id})
        except httpx.HTTPError as exc:
            raise AuthError(f"{self.token_url}: identity server unreachable ({exc})") from exc
        if resp.status_code != 200:
            detail = ""
            with contextlib.suppress(ValueError):
                detail = str(resp.json().get("error_description") or resp.json().get("error"))
            raise AuthError(
                f"{self.token_url}: {form['grant_type']} grant refused "
                f"(HTTP {resp.status_code} {detail})".rstrip()
            )
        doc = resp.json()
        return _Tokens(
            access=str(doc["access_token"]),
            access_expires=now + float(doc.get("expires_in", 600)),
            refresh=doc.get("refresh_token"),
            refresh_expires=now + float(doc.get("refresh_expires_in", 3600)),
        )

    def _load_cache(self) -> _Tokens | None:
        if self.cache_path is None or not self.cache_path.is_file():
            return None
        try:
            doc = json.loads(self.cache_path.read_text())
            if doc.get("token_url") != self.token_url:
                return None
            return _Tokens(
                doc["access"],
                float(doc["access_expires"]),
                doc.get("refresh"),
                float(doc["refresh_expires"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _save_cache(self) -> None:
        if self.cache_path is None or self._tokens is None:
            return
        doc: dict[str, Any] = {"token_url": self.token_url, **self._tokens.__dict__}
        with atomic_path(self.cache_path, suffix=".json") as tmp:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(doc, fh)


_SECRET_PATTERNS = (
    re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=\-]+", re.I),
    re.compile(
        r"((?:access_token|refresh_token|password|totp)[\"']?\s*[=:]\s*[\"']?)[^\s&\"',}]+", re.I
    ),
)


def redact(text: str) -> str:
    """``text`` with bearer tokens, passwords and token fields replaced by ``***``."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1***", text)
    return text


class RedactingFilter(logging.Filter):
    """Logging filter that removes tokens and passwords from every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = RedactingFilter()
_FACTORY_INSTALLED = False


def install_log_filter() -> RedactingFilter:
    """Redact tokens and passwords from every log record (idempotent).

    A logger filter only sees records made on that very logger, not on its children, so the
    redaction is installed in the log record factory (every record, every logger) and, in
    addition, as a filter on rus's, httpx's and httpcore's loggers.
    """
    global _FACTORY_INSTALLED
    if not _FACTORY_INSTALLED:
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _FILTER.filter(record)
            return record

        logging.setLogRecordFactory(factory)
        _FACTORY_INSTALLED = True
    for name in ("rus", "httpx", "httpcore", "uvicorn.access"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    return _FILTER
