"""The portal in headless Debian Chromium (Playwright, no browser download).

register -> read the verification mail in the admin's mail sink -> verify -> log in -> draw the
AOI on the map and file a request -> the admin approves -> the user sees the approved sizing.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.browser, pytest.mark.network_local, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def portal(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``rus serve`` on a free loopback port; yields (base URL, first admin password)."""
    port = _free_port()
    env = {
        **os.environ,
        "RUS_HOME": str(tmp_path / "home"),
        "RUS_ENVIRONMENT": "development",
        "RUS_BASE_URL": f"http://127.0.0.1:{port}",
    }
    env.pop("RUS_DATABASE_URL", None)
    log = (tmp_path / "serve.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "rus.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail("portal did not start: " + (tmp_path / "serve.log").read_text())
        match = re.search(r"password:\s+(\S+)", (tmp_path / "serve.log").read_text())
        assert match, "first start did not print the admin password"
        yield base, match.group(1)
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()


def test_register_to_approved_sizing_in_chromium(portal: tuple[str, str]) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium not installed (apt-get install chromium)")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    sync_api = pytest.importorskip("playwright.sync_api")
    base, admin_pw = portal
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            user = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
            admin = browser.new_context(viewport={"width": 390, "height": 844}).new_page()  # phone
            expect = sync_api.expect

            user.goto(f"{base}/register")
            user.get_by_label("Email address").fill("maria@example.org")
            user.get_by_label("Password (at least 10 characters)").fill("sentinel two burn")
            user.get_by_label("Repeat the password").fill("sentinel two burn")
            user.get_by_label("Organisation").fill("University of Coimbra")
            user.get_by_label("User type").select_option("rnd")
            user.get_by_role("button", name="Create my account").click()
            expect(user.get_by_role("heading", name="Check your email")).to_be_visible()

            admin.goto(f"{base}/login")
            admin.get_by_label("Email address").fill("admin@localhost")
            admin.get_by_label("Password").fill(admin_pw)
            admin.get_by_role("button", name="Log in").click()
            admin.goto(f"{base}/admin/mail")
            body = admin.locator("pre.mail-body").first.inner_text()
            link = re.search(r"https?://\S+/verify\?token=[\w-]+", body)
            assert link, body

            user.goto(link.group(0))
            expect(user.get_by_text("you can log in now")).to_be_visible()
            user.get_by_label("Email address").fill("maria@example.org")
            user.get_by_label("Password").fill("sentinel two burn")
            user.get_by_role("button", name="Log in").click()
            user.get_by_role("link", name="New request").click()
            user.get_by_label("Project title").fill("Pedrogao Grande burn severity")
            user.get_by_label("S2 L2A").check()
            # draw the AOI as a rectangle on the Leaflet map
            user.locator(".leaflet-draw-draw-rectangle").click()
            box = user.locator("#aoi-map").bounding_box()
            assert box is not None
            x0, y0 = box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.4
            user.mouse.move(x0, y0)
            user.mouse.down()
            user.mouse.move(x0 + 80, y0 + 60, steps=5)
            user.mouse.up()
            expect(user.locator("#aoi")).to_have_value(re.compile(r'"type":"Polygon"'))
            user.get_by_label("Data period start").fill("2017-06-01")
            user.get_by_label("Data period end").fill("2017-07-31")
            user.get_by_label("Expected data volume (GB)").fill("120")
            user.get_by_label("Processing needs").select_option("moderate")
            user.get_by_label("Support level").select_option("rnd")
            preview = user.locator("#sizing-preview")
            expect(preview).to_contain_text("1 VM(s) × 4 cores")  # htmx live preview
            user.get_by_role("button", name="File the request").click()
            expect(user.get_by_role("heading", name=re.compile("Proposed sizing"))).to_be_visible()
            detail = user.url

            admin.goto(f"{base}/admin/requests")
            admin.get_by_role("link", name="Pedrogao Grande burn severity").click()
            admin.get_by_label("Reason, note or question for the user").fill("Approved, enjoy.")
            admin.get_by_role("button", name="Approve").click()
            expect(admin.get_by_text("approve done")).to_be_visible()

            user.goto(detail)
            expect(
                user.get_by_role("heading", name=re.compile("Approved environment"))
            ).to_be_visible()
            assert user.locator('#sizing td[data-k="cores_per_vm"]').inner_text() == "4"
            assert user.locator('#sizing td[data-k="disk_tb"]').inner_text() == "0.3 TB"
            user.get_by_role("link", name="Notifications").click()
            expect(user.get_by_text(re.compile(r"Request #\d+ approved"))).to_be_visible()
        finally:
            browser.close()
