"""Offline demo path: simulated S1 and S2 products published by ``rus hub serve --publish-demo``
(a real child process on 127.0.0.1) and found and downloaded through the client."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from rus.hub._serve import serve_in_process
from rus.hub.download import Downloader
from rus.hub.odata import ODataClient
from rus.hub.query import make_query
from rus.hub.stac_client import StacClient

pytestmark = [pytest.mark.network_local, pytest.mark.slow]


def test_demo_products_are_published_and_served(tmp_path: Path) -> None:
    from rus.products.simulate.s1 import simulate_s1_grd
    from rus.products.simulate.s2 import simulate_s2_fire

    home = tmp_path / "home"
    s1 = simulate_s1_grd(home / "demo" / "s1", shape=(120, 180), ships=0, seed=4)
    s2 = simulate_s2_fire(home / "demo" / "s2", shape=(60, 60), seed=4)
    with serve_in_process(str(home), extra_args=("--publish-demo",)) as (url, _pid):
        cat = ODataClient(f"{url}/odata/v1")
        ships = list(cat.search(make_query("SENTINEL-1", aoi="trieste", product_type="IW_GRDH_1S")))
        assert [r.name for r in ships] == [Path(s1.product).name]
        rec = ships[0]
        assert rec.attributes["simulated"] == "true"
        assert rec.attributes["orbitDirection"] in ("ASCENDING", "DESCENDING")
        fires = list(cat.search(make_query("SENTINEL-2", aoi="pedrogao", tile="29TNE")))
        assert sorted(r.name for r in fires) == sorted([s2.pre.name, s2.post.name])
        items = list(StacClient(f"{url}/stac").search(make_query("SENTINEL-2", aoi="pedrogao")))
        assert len(items) == 2
        item = httpx.get(f"{url}/stac/collections/sentinel-2-l2a/items/{s2.pre.name}").json()
        assert item["properties"]["rus:simulated"] is True
        assert "SIMULATED" in item["properties"]["description"]
        res = Downloader().download(rec, cat.download_url(rec.id), tmp_path / "dl")
        assert res.status == "downloaded" and res.checksum_status == "verified"
        assert res.path is not None and res.path.name.endswith(".zip")
        from rus.products.info import describe_product

        info = describe_product(res.path)  # the served zip is a readable SAFE product
        assert info["simulated"] is True and info["mode"] == "IW"
