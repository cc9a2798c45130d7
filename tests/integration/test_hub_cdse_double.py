"""The CDSE client against a double reproducing CDSE's documented behaviour (two hosts on
127.0.0.1): paging past $skip 10,000, token refresh on a simulated clock, redirects between hosts,
429/503, servers with and without Range, offline products, empty checksums, and injected faults
(connection cut, corrupted bytes, disk full)."""

from __future__ import annotations

import logging
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from rus.hub.auth import Credentials, TokenManager, totp
from rus.hub.download import Downloader
from rus.hub.errors import AuthError
from rus.hub.http import RetryPolicy
from rus.hub.odata import ODataClient
from rus.hub.query import make_query
from rus.hub.records import ProductRecord
from rus.hub.store import ProductStore
from rus.hub.store_ops import fetch_into_store
from tests.integration.cdse_double import CdseDouble, SimClock

pytestmark = pytest.mark.network_local
T0 = datetime(2024, 1, 1, tzinfo=UTC)
USER, PASSWORD = "alice", "s3cret-password"


@pytest.fixture()
def clock() -> SimClock:
    return SimClock()


@pytest.fixture()
def double(clock: SimClock) -> Iterator[CdseDouble]:
    d = CdseDouble(clock=clock, users={USER: PASSWORD})
    d.add_series(6, start=T0, step=timedelta(hours=1), size=300_000)
    with d.running():
        yield d


def _fast() -> RetryPolicy:
    return RetryPolicy(retries=4, backoff=0.001)


def _tm(d: CdseDouble, clock: SimClock, tmp_path: Path | None = None) -> TokenManager:
    cache = tmp_path / "token.json" if tmp_path else None
    return TokenManager(d.token_url, Credentials(USER, PASSWORD), clock=clock, cache_path=cache)


def _records(d: CdseDouble) -> list[ProductRecord]:
    return list(ODataClient(d.catalogue_url).search(make_query("SENTINEL-1", start="2024-01")))


def _get(
    d: CdseDouble, tm: TokenManager, tmp_path: Path, recs: list[ProductRecord], **kw: object
) -> list:  # type: ignore[type-arg]
    cat = ODataClient(d.catalogue_url)
    dl = Downloader(token=tm, policy=kw.pop("policy", _fast()), **kw)  # type: ignore[arg-type]
    return dl.download_many([(r, cat.download_url(r.id)) for r in recs], tmp_path / "dl")


def test_paging_goes_past_the_skip_cap(clock: SimClock) -> None:
    d = CdseDouble(clock=clock)
    d.add_series(12_345, start=T0, step=timedelta(minutes=1))
    with d.running():
        assert httpx.get(f"{d.catalogue_url}/Products", params={"$skip": 10_001}).status_code == 422
        cat = ODataClient(d.catalogue_url)
        q = make_query("SENTINEL-1", start="2024-01-01", end="2024-02-01")
        names = [r.name for r in cat.search(q)]
        assert len(names) == len(set(names)) == 12_345
        assert names == sorted(names)
        assert cat.count(q) == 12_345
        desc = list(cat.search(make_query("SENTINEL-1", start="2024-01", descending=True)))
        assert len({r.id for r in desc}) == 12_345 and desc[0].start > desc[-1].start
        limited = list(cat.search(make_query("SENTINEL-1", start="2024-01", limit=2500)))
        assert len(limited) == 2500


def test_one_login_then_refresh_tokens(double: CdseDouble, clock: SimClock, tmp_path: Path) -> None:
    tm = _tm(double, clock, tmp_path)
    recs = _records(double)
    for rec in recs[:3]:  # a long run: 11 simulated minutes between downloads
        assert _get(double, tm, tmp_path, [rec])[0].status == "downloaded"
        clock.advance(11 * 60)
    assert (double.logins, tm.logins) == (1, 1)
    assert double.refreshes == tm.refreshes == 2
    cache = tmp_path / "token.json"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    again = _tm(double, clock, tmp_path)  # a new run reuses the cached session
    again.token()
    assert double.logins == 1
    clock.advance(2 * 3600)  # the refresh token expired too: one new login
    assert _get(double, again, tmp_path, recs[3:4])[0].status == "downloaded"
    assert double.logins == 2


def test_token_expiring_mid_run_is_refreshed_on_401(
    double: CdseDouble, clock: SimClock, tmp_path: Path
) -> None:
    tm = _tm(double, clock)
    tm.token()
    # the server clock runs ahead of the client: the download host answers 401 once
    clock_offset = 700
    double.clock.advance(clock_offset)
    tm.clock = lambda: clock.now - clock_offset  # type: ignore[method-assign]
    res = _get(double, tm, tmp_path, _records(double)[:1])
    assert res[0].status == "downloaded"
    assert tm.refreshes == 1 and double.logins == 1


def test_totp_and_wrong_password(clock: SimClock) -> None:
    secret = "JBSWY3DPEHPK3PXP"
    d = CdseDouble(clock=clock, users={USER: PASSWORD}, totp_secret=secret)
    with d.running():
        ok = TokenManager(d.token_url, Credentials(USER, PASSWORD, totp_secret=secret), clock=clock)
        assert ok.token()
        code = totp(secret, clock())
        assert TokenManager(
            d.token_url, Credentials(USER, PASSWORD, totp_code=code), clock=clock
        ).token()
        with pytest.raises(AuthError, match="password grant refused"):
            TokenManager(d.token_url, Credentials(USER, PASSWORD), clock=clock).token()
        with pytest.raises(AuthError, match="Invalid user credentials"):
            TokenManager(d.token_url, Credentials(USER, "wrong"), clock=clock).token()
        with pytest.raises(AuthError, match="no CDSE credentials"):
            TokenManager(d.token_url, None, clock=clock).token()


def test_redirect_to_download_host_keeps_the_token(
    double: CdseDouble, clock: SimClock, tmp_path: Path
) -> None:
    tm = _tm(double, clock)
    rec = _records(double)[0]
    url = ODataClient(double.catalogue_url).download_url(rec.id)
    plain = httpx.get(url, headers={"Authorization": f"Bearer {tm.token()}"}, follow_redirects=True)
    assert plain.status_code == 401  # httpx drops the header across hosts
    res = _get(double, tm, tmp_path, [rec])[0]
    assert res.status == "downloaded" and res.checksum_status == "verified"
    assert res.path is not None and res.path.read_bytes() == double.data[rec.id]


def test_throttling_and_maintenance_are_retried(
    double: CdseDouble, clock: SimClock, tmp_path: Path
) -> None:
    waits: list[float] = []
    double.faults.throttle, double.faults.unavailable = 3, 1
    policy = RetryPolicy(retries=5, backoff=0.001, sleep=waits.append)
    res = _get(double, _tm(double, clock), tmp_path, _records(double)[:1], policy=policy)
    assert res[0].status == "downloaded" and len(waits) == 4
    assert waits[0] == 0.0  # Retry-After: 0 honoured
    double.faults.throttle = 50
    res = _get(
        double,
        _tm(double, clock),
        tmp_path,
        _records(double)[1:2],
        policy=RetryPolicy(retries=2, backoff=0.001),
    )
    assert res[0].status == "failed" and "throttled (HTTP 429)" in res[0].message


@pytest.mark.parametrize("range_support", [True, False])
def test_cut_connection_is_resumed_with_identical_bytes(
    clock: SimClock, tmp_path: Path, range_support: bool
) -> None:
    d = CdseDouble(clock=clock, users={USER: PASSWORD}, range_support=range_support)
    docs = d.add_series(2, start=T0, step=timedelta(hours=1), size=400_000)
    d.faults.cut_after[docs[0]["Id"]] = 150_000
    with d.running():
        res = _get(d, _tm(d, clock), tmp_path, _records(d))
        first = res[0]
        assert first.status == "downloaded" and first.checksum_status == "verified"
        assert first.path is not None and first.path.read_bytes() == d.data[docs[0]["Id"]]
        ranges = [r["range"] for r in d.download_requests if r["id"] == docs[0]["Id"]]
        assert ranges[0] is None and ranges[1] is not None and ranges[1].startswith("bytes=")
        if range_support:
            assert first.resumed_from >= 150_000 and first.restarts == 0
        else:  # 200 instead of 206: restarted cleanly from byte 0
            assert first.restarts == 1
        assert not list((tmp_path / "dl").glob("*.part"))


def test_corrupted_bytes_are_quarantined_and_fetched_again(
    double: CdseDouble, clock: SimClock, tmp_path: Path
) -> None:
    rec = _records(double)[0]
    double.faults.corrupt_once.add(rec.id)
    res = _get(double, _tm(double, clock), tmp_path, [rec])[0]
    assert res.status == "downloaded" and res.checksum_status == "verified"
    assert len(res.quarantined) == 1 and res.quarantined[0].exists()
    assert res.quarantined[0].read_bytes() != double.data[rec.id]
    assert res.path is not None and res.path.read_bytes() == double.data[rec.id]
    double.faults.corrupt_once.add(rec.id)  # a corrupt copy on disk is detected on re-run
    res.path.write_bytes(b"garbage")
    again = _get(double, _tm(double, clock), tmp_path, [rec], checksum_retries=0)[0]
    assert again.status == "failed" and "checksum mismatch" in again.message


def test_offline_and_missing_checksums_are_reported(clock: SimClock, tmp_path: Path) -> None:
    d = CdseDouble(clock=clock, users={USER: PASSWORD})
    docs = d.add_series(2, start=T0, step=timedelta(hours=1), size=50_000, checksum=False)
    d.faults.offline.add(docs[1]["Id"])
    with d.running():
        recs = _records(d)
        assert recs[0].checksums == {} and recs[0].content_length == 0
        res = _get(d, _tm(d, clock), tmp_path, recs)
        assert res[0].status == "downloaded" and res[0].checksum_status == "unavailable"
        assert "no checksum" in res[0].message and res[0].digest
        assert res[1].status == "offline" and "HTTP 202" in res[1].message
        rerun = _get(d, _tm(d, clock), tmp_path, recs[:1])[0]
        assert rerun.status == "present"


def test_interrupted_run_continues_where_it_stopped(
    double: CdseDouble, clock: SimClock, tmp_path: Path
) -> None:
    recs = _records(double)
    double.faults.cut_after[recs[0].id] = 200_000
    tm = _tm(double, clock)
    first = _get(double, tm, tmp_path, recs[:1], policy=RetryPolicy(retries=0))[0]
    assert first.status == "failed" and "re-run to resume" in first.message
    part = tmp_path / "dl" / f"{recs[0].file_name}.part"
    kept = part.stat().st_size
    assert 0 < kept < 300_000
    res = _get(double, tm, tmp_path, recs)  # the re-run: 6 products, 4 in parallel
    assert [r.status for r in res] == ["downloaded"] * 6
    assert res[0].resumed_from == kept
    assert all(r.path is not None and r.path.read_bytes() == double.data[r.product_id] for r in res)
    assert [r.status for r in _get(double, tm, tmp_path, recs)] == ["present"] * 6


def test_tokens_and_passwords_never_reach_the_logs(
    double: CdseDouble, clock: SimClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        tm = _tm(double, clock)
        for rec in _records(double)[:2]:
            _get(double, tm, tmp_path, [rec])
            clock.advance(11 * 60)
        logging.getLogger("rus.hub.test").warning("header was Bearer %s", tm.token())
        logging.getLogger("httpx").debug("form password=%s", PASSWORD)
    assert double.issued and tm.refreshes >= 1
    text = caplog.text
    assert "HTTP Request" in text  # the logs were captured at all
    for secret in [*double.issued, PASSWORD]:
        assert secret not in text


def test_disk_full_leaves_the_store_consistent(
    double: CdseDouble, clock: SimClock, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'rus.db'}"
    store = ProductStore(tmp_path / "store", url)
    rec = _records(double)[0]
    script = textwrap.dedent(f"""
        import resource, signal, sys
        from rus.hub.download import Downloader
        from rus.hub.errors import DiskFullError
        from rus.hub.http import RetryPolicy
        from rus.hub.odata import ODataClient
        from rus.hub.store import ProductStore
        from rus.hub.store_ops import fetch_into_store
        from rus.hub.auth import Credentials, TokenManager
        store = ProductStore({str(tmp_path / "store")!r}, {url!r}, migrate=False)
        cat = ODataClient({double.catalogue_url!r})
        rec = cat.get({rec.id!r})
        tm = TokenManager({double.token_url!r}, Credentials({USER!r}, {PASSWORD!r}),
                          clock=lambda: {clock.now})
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (120_000, 120_000))
        try:
            fetch_into_store(store, [rec], lambda r: cat.download_url(r.id),
                             Downloader(token=tm, policy=RetryPolicy(backoff=0.001)))
        except DiskFullError as exc:
            print(exc)
            sys.exit(3)
    """)
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 3, proc.stderr
    assert "no space left" in proc.stdout and "re-run to resume" in proc.stdout
    assert store.list_products() == []
    assert not any(p.is_file() for p in store.products_dir.rglob("*"))
    part = store.staging_dir / f"{rec.file_name}.part"
    assert 0 < part.stat().st_size <= 120_000
    res = fetch_into_store(
        store,
        [rec],
        lambda r: f"{double.catalogue_url}/Products({r.id})/$value",
        Downloader(token=_tm(double, clock), policy=_fast()),
    )
    assert res[0].status == "downloaded" and res[0].resumed_from == part_size(res, 120_000)
    row = store.require(rec.id)
    assert store.path_of(row).read_bytes() == double.data[rec.id]


def part_size(res: list, limit: int) -> int:  # type: ignore[type-arg]
    """The resume offset of the first result (what the disk-full run left, at most ``limit``)."""
    offset = int(res[0].resumed_from)
    assert 0 < offset <= limit
    return offset
