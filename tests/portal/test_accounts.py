"""Account services: argon2, first admin, API tokens, SMTP delivery, CLI commands."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from rus.db.base import make_engine, make_sessionmaker
from rus.db.migrate import upgrade
from rus.services import accounts
from rus.services.errors import AuthenticationFailed
from rus.services.mail import MailConfig, MailDeliveryFailed, send_mail
from rus.services.schemas import UserCreate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def session(tmp_path: Path) -> Any:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    upgrade(url)
    engine = make_engine(url)
    with make_sessionmaker(engine)() as s:
        yield s
    engine.dispose()


def test_argon2_hashes() -> None:
    h = accounts.hash_password("s3cret passphrase")
    assert h.startswith("$argon2id$") and "s3cret" not in h
    assert accounts.check_password(h, "s3cret passphrase")
    assert not accounts.check_password(h, "other")
    assert not accounts.check_password("not-a-hash", "x")


def test_first_admin_gets_random_password(session: Session) -> None:
    pw = accounts.ensure_admin(session)
    assert pw is not None and len(pw) >= 20
    assert accounts.ensure_admin(session) is None  # only once
    admin = accounts.find_user(session, accounts.ADMIN_EMAIL)
    assert admin is not None and admin.role == "admin" and admin.is_verified
    assert accounts.check_password(admin.password_hash, pw)


def test_api_token_only_hash_stored(session: Session) -> None:
    user = accounts.register_user(
        session,
        UserCreate(email="t@example.org", password="long enough pw"),
        MailConfig(),
        accounts.AccountPolicy(),
    )
    row, raw = accounts.create_api_token(session, user, "x")
    assert raw not in row.token_hash and row.prefix == raw[:10]
    assert accounts.user_for_api_token(session, raw).id == user.id
    accounts.revoke_api_token(session, user, row.id)
    with pytest.raises(AuthenticationFailed):
        accounts.user_for_api_token(session, raw)


class _SmtpSink:
    """A minimal SMTP server on 127.0.0.1 (one connection) that records the DATA it receives."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.data = b""
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        f = conn.makefile("rwb")

        def say(line: str) -> None:
            f.write(line.encode() + b"\r\n")
            f.flush()

        say("220 sink ready")
        while line := f.readline():
            cmd = line.strip().upper()
            if cmd.startswith((b"EHLO", b"HELO")):
                say("250 sink")
            elif cmd == b"DATA":
                say("354 go ahead")
                while (chunk := f.readline()) != b".\r\n":
                    self.data += chunk
                say("250 queued")
            elif cmd == b"QUIT":
                say("221 bye")
                break
            else:
                say("250 ok")
        conn.close()


def test_smtp_delivery_and_failure(session: Session) -> None:
    sink = _SmtpSink()
    row = send_mail(
        session, MailConfig(host="127.0.0.1", port=sink.port), "u@example.org", "Hello", "Body text"
    )
    sink.thread.join(5)
    assert row.transport == "smtp"
    assert b"Subject: Hello" in sink.data and b"Body text" in sink.data
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    closed_port = s.getsockname()[1]
    s.close()
    with pytest.raises(MailDeliveryFailed, match=f"127.0.0.1:{closed_port}"):
        send_mail(
            session,
            MailConfig(host="127.0.0.1", port=closed_port, timeout_s=2),
            "u@x.org",
            "x",
            "y",
        )


def test_cli_admin_create_prints_random_password(tmp_path: Path) -> None:
    env = {"RUS_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    cmd = [sys.executable, "-m", "rus.cli", "admin", "create", "--email", "root@example.org"]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert first.returncode == 0, first.stderr
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert again.returncode == 2 and "already exists" in again.stderr
    reset = subprocess.run(
        [*cmd, "--reset"], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    pw1 = first.stdout.split("password ")[1].split()[0]
    pw2 = reset.stdout.split("password ")[1].split()[0]
    assert len(pw1) >= 20 and pw1 != pw2
    listed = subprocess.run(
        [sys.executable, "-m", "rus.cli", "users", "list", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert '"role": "admin"' in listed.stdout
