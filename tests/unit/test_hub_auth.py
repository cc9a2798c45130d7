"""TOTP, credential lookup and token redaction in logs."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest

from rus.hub.auth import (
    Credentials,
    RedactingFilter,
    find_credentials,
    install_log_filter,
    redact,
    totp,
)

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize(
    ("at", "code"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
    ],
)
def test_totp_matches_rfc6238_vectors(at: int, code: str) -> None:
    assert totp(RFC_SECRET, at, digits=8) == code


def test_credentials_from_env_then_netrc(tmp_path: Path) -> None:
    env = {"RUS_CDSE_USERNAME": "ann", "RUS_CDSE_PASSWORD": "pw", "RUS_CDSE_TOTP_SECRET": "AB"}
    creds = find_credentials("identity.example", env=env, netrc_path=tmp_path / "none")
    assert creds == Credentials("ann", "pw", "AB")
    assert "pw" not in repr(creds)
    rc = tmp_path / "netrc"
    rc.write_text("machine identity.example login bob password hunter2\n")
    rc.chmod(0o600)
    creds = find_credentials("identity.example", env={}, netrc_path=rc)
    assert creds is not None and (creds.username, creds.password) == ("bob", "hunter2")
    assert find_credentials("other.example", env={}, netrc_path=rc) is None


def test_redaction_of_tokens_and_passwords() -> None:
    text = (
        "Authorization: Bearer eyJhbGciOi.abc-DEF_123 grant_type=password&username=a&"
        "password=hunter2&totp=123456 {'access_token': 'tok.en', \"refresh_token\": \"r1\"}"
    )
    out = redact(text)
    for secret in ("eyJhbGciOi.abc-DEF_123", "hunter2", "123456", "tok.en", 'r1"'):
        assert secret not in out
    assert "username=a" in out


def test_filter_cleans_records(caplog: pytest.LogCaptureFixture) -> None:
    install_log_filter()
    log = logging.getLogger("rus.hub.test")
    with caplog.at_level(logging.DEBUG, logger="rus"):
        log.info("sending %s", "Bearer sekrit.token.value")
    assert "sekrit.token.value" not in caplog.text
    assert "Bearer ***" in caplog.text
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "access_token=%s", ("abc",), None)
    RedactingFilter().filter(record)
    assert record.getMessage() == "access_token=***"
