"""The local hub server over a real store: OData subset, $value with Range, Nodes, STAC API,
upstream proxy mode (against the CDSE double), path traversal, and the CLI end to end."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from rus.hub._serve import serve_in_thread
from rus.hub.auth import Credentials, TokenManager
from rus.hub.download import Downloader
from rus.hub.http import RetryPolicy
from rus.hub.odata import ODataClient
from rus.hub.query import make_query
from rus.hub.records import ProductRecord
from rus.hub.server import Upstream, create_hub_app
from rus.hub.stac_client import StacClient
from rus.hub.store import ProductStore
from tests.integration.cdse_double import CdseDouble, SimClock

pytestmark = pytest.mark.network_local
T0 = datetime(2024, 5, 1, 9, tzinfo=UTC)


def _product(
    store: ProductStore,
    tmp: Path,
    i: int,
    *,
    lon: float = 12.0,
    ptype: str = "IW_GRDH_1S",
    direction: str = "ASCENDING",
) -> ProductRecord:
    name = f"S1A_IW_GRDH_1SDV_{(T0 + timedelta(days=i)):%Y%m%dT%H%M%S}_{i:04d}_HUB.SAFE"
    src = tmp / f"{i}.zip"
    with zipfile.ZipFile(src, "w") as zf:
        zf.writestr(f"{name}/manifest.safe", f"<manifest n='{i}'/>")
        zf.writestr(f"{name}/measurement/vv.tiff", bytes(range(256)) * (200 + i))
    rec = ProductRecord(
        id=f"aaaaaaaa-0000-0000-0000-{i:012d}",
        name=name,
        collection="SENTINEL-1",
        start=T0 + timedelta(days=i),
        end=T0 + timedelta(days=i, seconds=25),
        footprint={
            "type": "Polygon",
            "coordinates": [[[lon, 41], [lon + 1, 41], [lon + 1, 42], [lon, 42], [lon, 41]]],
        },
        attributes={"productType": ptype, "orbitDirection": direction, "relativeOrbitNumber": 117},
    )
    store.add(src, rec, source="test")
    return rec


@pytest.fixture()
def store(tmp_path: Path) -> ProductStore:
    s = ProductStore(tmp_path / "store", f"sqlite:///{tmp_path / 'rus.db'}")
    for i in range(25):
        _product(
            s,
            tmp_path,
            i,
            lon=12.0 if i % 5 else -58.0,
            direction="ASCENDING" if i % 2 else "DESCENDING",
        )
    return s


@pytest.fixture()
def hub(store: ProductStore) -> Iterator[str]:
    with serve_in_thread(create_hub_app(store, skip_cap=15)) as url:
        yield url


def test_odata_search_filters_paging_and_errors(hub: str) -> None:
    cat = ODataClient(f"{hub}/odata/v1", page_size=7, skip_cap=15)
    everything = list(cat.search(make_query("SENTINEL-1")))
    assert len(everything) == 25 and len({r.id for r in everything}) == 25
    assert cat.requests == 4  # skips 0, 7, 14, then a new window (the hub caps $skip at 15)
    q = make_query(
        "SENTINEL-1",
        aoi="rome",
        start="2024-05",
        orbit_direction="ascending",
        product_type="IW_GRDH_1S",
        relative_orbit=117,
    )
    hits = list(cat.search(q))
    assert {r.attributes["orbitDirection"] for r in hits} == {"ASCENDING"}
    assert len(hits) == cat.count(q) == 10  # odd days, not on the western footprints
    assert all(set(r.checksums) == {"MD5", "BLAKE3"} for r in hits)
    assert list(cat.search(make_query("SENTINEL-2"))) == []
    page = httpx.get(f"{hub}/odata/v1/Products", params={"$top": 5, "$count": "True"}).json()
    assert page["@odata.count"] == 25 and "$skip=5" in page["@odata.nextLink"].replace("%24", "$")
    assert httpx.get(f"{hub}/odata/v1/Products", params={"$skip": 16}).status_code == 422
    assert httpx.get(f"{hub}/odata/v1/Products", params={"$top": 1001}).status_code == 422
    bad = httpx.get(f"{hub}/odata/v1/Products", params={"$filter": "Name ne 'x'"})
    assert bad.status_code == 400 and "unsupported $filter clause" in bad.json()["detail"]
    one = httpx.get(f"{hub}/odata/v1/Products({hits[0].id})").json()
    assert one["Name"] == hits[0].name and one["Attributes"]


def test_value_download_with_range_and_resume(
    hub: str, store: ProductStore, tmp_path: Path
) -> None:
    cat = ODataClient(f"{hub}/odata/v1")
    rec = cat.get("aaaaaaaa-0000-0000-0000-000000000003")
    url = cat.download_url(rec.id)
    full = httpx.get(url)
    assert full.status_code == 200 and full.headers["accept-ranges"] == "bytes"
    part = httpx.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == full.content[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(full.content)}"
    assert httpx.get(url, headers={"Range": "bytes=-10"}).content == full.content[-10:]
    assert httpx.get(url, headers={"Range": f"bytes={10**9}-"}).status_code == 416
    dest = tmp_path / "dl"
    dest.mkdir()
    (dest / f"{rec.file_name}.part").write_bytes(full.content[:1000])
    res = Downloader().download(rec, url, dest)
    assert res.status == "downloaded" and res.resumed_from == 1000
    assert res.checksum_status == "verified" and res.algorithm == "BLAKE3"
    assert res.path is not None and res.path.read_bytes() == full.content


def test_server_without_range_support_restarts(store: ProductStore, tmp_path: Path) -> None:
    with serve_in_thread(create_hub_app(store, range_support=False)) as url:
        cat = ODataClient(f"{url}/odata/v1")
        rec = cat.get("aaaaaaaa-0000-0000-0000-000000000004")
        assert "accept-ranges" not in httpx.get(cat.download_url(rec.id)).headers
        dest = tmp_path / "dl2"
        dest.mkdir()
        (dest / f"{rec.file_name}.part").write_bytes(b"stale bytes from an old run")
        res = Downloader().download(rec, cat.download_url(rec.id), dest)
        assert res.status == "downloaded" and res.restarts == 1 and res.resumed_from == 0
        assert res.checksum_status == "verified"


def test_nodes_and_path_traversal(hub: str) -> None:
    pid = "aaaaaaaa-0000-0000-0000-000000000002"
    base = f"{hub}/odata/v1/Products({pid})"
    root = httpx.get(f"{base}/Nodes").json()["result"]
    safe = root[0]["Name"]
    assert safe.endswith("_HUB.SAFE")
    kids = {n["Name"] for n in httpx.get(f"{base}/Nodes({safe})/Nodes").json()["result"]}
    assert kids == {"manifest.safe", "measurement"}
    body = httpx.get(f"{base}/Nodes({safe})/Nodes(manifest.safe)/$value")
    assert body.status_code == 200 and body.content == b"<manifest n='2'/>"
    attacks = [
        f"{base}/Nodes(..)/Nodes(..)/$value",
        f"{base}/Nodes({safe})/Nodes(%2E%2E)/$value",
        f"{base}/Nodes(..%2F..%2Fetc%2Fpasswd)/$value",
        f"{base}/Nodes(.ssh)/$value",
        f"{hub}/odata/v1/Products(..)/$value",
        f"{hub}/odata/v1/Products(%2E%2E)",
        f"{hub}/odata/v1/Products(..%2F..%2Frus.db)/$value",
    ]
    for url in attacks:
        r = httpx.get(url)
        assert r.status_code in (400, 404), url
        assert b"root:" not in r.content and b"SQLite" not in r.content


def test_stac_api(hub: str) -> None:
    landing = httpx.get(f"{hub}/stac").json()
    assert any(c.endswith("item-search") for c in landing["conformsTo"])
    colls = httpx.get(f"{hub}/stac/collections").json()["collections"]
    assert [c["id"] for c in colls] == ["sentinel-1-grd"]
    items = httpx.get(
        f"{hub}/stac/collections/sentinel-1-grd/items",
        params={"bbox": "12.2,41.2,12.4,41.4", "limit": 50},
    ).json()
    assert items["numberMatched"] == 20
    first = items["features"][0]
    assert first["assets"]["product"]["href"].endswith(")/$value")
    one = httpx.get(f"{hub}/stac/collections/sentinel-1-grd/items/{first['id']}").json()
    assert one["id"] == first["id"]
    assert httpx.get(f"{hub}/stac/collections/nope/items/{first['id']}").status_code == 404
    q = make_query(
        "SENTINEL-1",
        aoi="rome",
        start="2024-05-01",
        end="2024-05-31",
        orbit_direction="descending",
        relative_orbit=117,
    )
    stac = StacClient(f"{hub}/stac", page_size=3)
    recs = list(stac.search(q))
    odata = list(ODataClient(f"{hub}/odata/v1").search(q))
    assert sorted(r.name for r in recs) == sorted(r.name for r in odata) and len(recs) >= 8
    assert all(r.href and r.checksums for r in recs)
    bad = httpx.post(f"{hub}/stac/search", json={"filter": {"op": "like", "args": []}})
    assert bad.status_code == 400 and "CQL2" in bad.json()["detail"]


def test_upstream_proxy_caches_misses(tmp_path: Path) -> None:
    clock = SimClock()
    double = CdseDouble(clock=clock, users={"u": "p"})
    docs = double.add_series(3, start=T0, step=timedelta(hours=2), size=120_000)
    store = ProductStore(tmp_path / "store", f"sqlite:///{tmp_path / 'rus.db'}")
    with double.running():
        tm = TokenManager(double.token_url, Credentials("u", "p"), clock=clock)
        up = Upstream(
            ODataClient(double.catalogue_url),
            Downloader(token=tm, policy=RetryPolicy(backoff=0.001)),
        )
        with serve_in_thread(create_hub_app(store, upstream=up)) as hub:
            cat = ODataClient(f"{hub}/odata/v1", page_size=2)
            recs = list(cat.search(make_query("SENTINEL-1", start="2024-05")))
            assert [r.id for r in recs] == [d["Id"] for d in docs]  # nextLinks via the hub
            page = httpx.get(f"{hub}/odata/v1/Products", params={"$top": 1}).json()
            assert page["@odata.nextLink"].startswith(hub)
            res = Downloader().download(recs[1], cat.download_url(recs[1].id), tmp_path / "u")
            assert res.status == "downloaded" and res.checksum_status == "verified"
            assert res.path is not None and res.path.read_bytes() == double.data[recs[1].id]
            fetched = len(double.download_requests)
            again = Downloader().download(recs[1], cat.download_url(recs[1].id), tmp_path / "v")
            assert again.status == "downloaded" and len(double.download_requests) == fetched
            assert store.require(recs[1].id).source == double.catalogue_url
            assert [r.name for r in store.list_products()] == [recs[1].name]
    assert double.logins == 1


def test_cli_end_to_end(
    store: ProductStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np
    import rasterio
    from affine import Affine

    from rus.cli import build_app

    home = tmp_path / "home"
    monkeypatch.setenv("RUS_HOME", str(home))
    monkeypatch.delenv("RUS_DATABASE_URL", raising=False)
    monkeypatch.delenv("RUS_CDSE_USERNAME", raising=False)
    tif = tmp_path / "mine.tif"
    with rasterio.open(
        tif,
        "w",
        driver="GTiff",
        height=4,
        width=4,
        count=1,
        dtype="uint8",
        crs="EPSG:4326",
        transform=Affine(0.01, 0, 12.4, 0, -0.01, 41.9),
    ) as ds:
        ds.write(np.zeros((1, 4, 4), "uint8"))
    app, runner = build_app(), CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result.stdout

    assert "mine.tif" in run("store", "import", str(tif))
    listing = json.loads(run("store", "ls", "--json"))
    assert [r["name"] for r in listing] == ["mine.tif"] and listing[0]["references"] == []
    assert json.loads(run("store", "verify", "--json"))[0]["ok"] is True
    with serve_in_thread(create_hub_app(store)) as hub:
        url = f"{hub}/odata/v1"
        fc = json.loads(run("search", "--url", url, "--aoi", "-57.8,41.2,-57.5,41.5", "--geojson"))
        assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 5
        table = run(
            "search", "--url", url, "--aoi", "rome", "--start", "2024-05-02", "--end", "2024-05-03"
        )
        assert "2 products" in table
        stac = json.loads(
            run(
                "search",
                "--backend",
                "stac",
                "--url",
                f"{hub}/stac",
                "--aoi",
                "-57.8,41.2,-57.5,41.5",
                "--json",
            )
        )
        assert len(stac) == 5
        pid = fc["features"][0]["id"]
        out = json.loads(run("download", pid, "--url", url, "--out", str(tmp_path / "o"), "--json"))
        assert out[0]["status"] == "downloaded" and out[0]["checksum_status"] == "verified"
        stored = json.loads(
            run("download", "--url", url, "--aoi", "-57.8,41.2,-57.5,41.5", "--store", "--json")
        )
        assert [r["status"] for r in stored] == ["downloaded"] * 5
    assert len(json.loads(run("store", "ls", "--json"))) == 6
    evicted = json.loads(run("store", "evict", "--target-bytes", "0", "--json"))
    assert len(evicted) == 6
