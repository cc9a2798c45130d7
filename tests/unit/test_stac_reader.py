"""STAC Item reader (Earth Search and CDSE naming) on COG copies of a simulated SAFE."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from rus.products.errors import ProductError
from rus.products.sentinel2 import open_s2
from rus.products.simulate.s2 import S2FireSimulation, simulate_s2_fire, write_cog_copy
from rus.products.stac import open_stac_item


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> S2FireSimulation:
    return simulate_s2_fire(
        tmp_path_factory.mktemp("stac"), shape=(600, 600), seed=2, baseline="05.10"
    )


@pytest.fixture(scope="module")
def item(sim: S2FireSimulation, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_cog_copy(sim.post, tmp_path_factory.mktemp("cog"), ("B8A", "B12", "SCL", "B04"))


def test_cog_copy_writes_earth_search_item(item: Path) -> None:
    import rasterio

    doc = json.loads(item.read_text())
    assert doc["type"] == "Feature" and doc["properties"]["rus:simulated"] is True
    assert set(doc["assets"]) == {"nir08", "swir22", "scl", "red"}
    assert doc["properties"]["s2:processing_baseline"] == "05.10"
    assert doc["assets"]["nir08"]["raster:bands"][0]["offset"] == pytest.approx(-0.1)
    with rasterio.open(item.parent / "B8A.tif") as ds:
        assert ds.profile["compress"].lower() == "deflate"
        assert ds.profile["blockxsize"] == 512 and ds.crs.to_epsg() == 32629


def test_stac_equals_safe(sim: S2FireSimulation, item: Path) -> None:
    st, safe = open_stac_item(str(item)), open_s2(sim.post)
    assert st.band_names == ("B04", "B8A", "B12", "SCL")
    assert st.metadata.simulated is True and st.metadata.tile_id == "29TNE"
    assert st.metadata.sensing_time == safe.metadata.sensing_time
    a = st.to_dataset(["B8A", "B12", "SCL"], 20).compute()
    b = safe.to_dataset(["B8A", "B12", "SCL"], 20).compute()
    for k in ("B8A", "B12", "SCL"):
        np.testing.assert_array_equal(a[k].values, b[k].values)
    assert a.B8A.rio.transform() == b.B8A.rio.transform()
    d = st.describe()
    assert d["simulated"] is True and d["bands"]["B8A"] == [20.0]


def test_cdse_naming_and_default_scaling(item: Path, tmp_path: Path) -> None:
    doc = json.loads(item.read_text())
    cdse = {"B8A_20m": "nir08", "B12_20m": "swir22", "SCL_20m": "scl"}
    assets = {}
    for key, es in cdse.items():
        asset = dict(doc["assets"][es])
        asset.pop("raster:bands")  # CDSE-like: no scale/offset -> 1e-4 and the baseline rule
        asset["href"] = str(item.parent / Path(asset["href"]).name)  # absolute local path
        assets[key] = asset
    doc["assets"] = assets
    doc["properties"]["earthsearch:boa_offset_applied"] = False
    path = tmp_path / "cdse.json"
    path.write_text(json.dumps(doc))
    p = open_stac_item(str(path))
    assert p.band_names == ("B8A", "B12", "SCL")
    ref = open_stac_item(str(item))
    np.testing.assert_allclose(
        p.reflectance("B8A").values, ref.reflectance("B8A").values, atol=1e-6, equal_nan=True
    )


def test_bad_items(item: Path, tmp_path: Path) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text("{not json")
    with pytest.raises(ProductError, match=r"broken\.json"):
        open_stac_item(str(bad))
    coll = tmp_path / "collection.json"
    coll.write_text(json.dumps({"type": "Collection", "id": "x"}))
    with pytest.raises(ProductError, match="not a STAC Item"):
        open_stac_item(str(coll))
    none = tmp_path / "nobands.json"
    none.write_text(json.dumps({"type": "Feature", "assets": {"thumbnail": {"href": "t.png"}}}))
    with pytest.raises(ProductError, match="no Sentinel-2 band asset"):
        open_stac_item(str(none))
    moved = tmp_path / "moved"
    moved.mkdir()
    shutil.copy(item, moved / "item.json")  # assets are relative: they are not there
    with pytest.raises(ProductError, match=r"B8A\.tif"):
        open_stac_item(str(moved / "item.json")).band("B8A")


# A static-file HTTP server with byte ranges (what GDAL /vsicurl/ needs), on 127.0.0.1 with a free
# port, in a child process (GDAL holds the GIL while it fetches, so no in-process thread).
_SERVER = """
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

root = Path(sys.argv[1])

class Handler(SimpleHTTPRequestHandler):
    def __init__(self, *a, **k):
        super().__init__(*a, directory=str(root), **k)

    def log_message(self, *a):
        pass

    def do_GET(self):
        rng = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        if not rng or not path.is_file():
            return super().do_GET()
        data = path.read_bytes()
        a, b = rng.removeprefix("bytes=").split("-")
        start, end = int(a), min(int(b) if b else len(data) - 1, len(data) - 1)
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        self.wfile.write(data[start : end + 1])

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


@pytest.mark.network_local
def test_item_and_assets_over_http(item: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(item.parent)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        url = f"http://127.0.0.1:{port}/item.json"
        p = open_stac_item(url)
        assert p.metadata.simulated is True
        b = p.band("B12")
        assert b.attrs["source_file"].startswith(f"/vsicurl/http://127.0.0.1:{port}/")
        local = open_stac_item(str(item)).band("B12")
        np.testing.assert_array_equal(b.values, local.values)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    with pytest.raises(ProductError, match="cannot fetch"):
        open_stac_item(url)


def test_cog_copy_from_a_zip(sim: S2FireSimulation, tmp_path: Path) -> None:
    from rus.products.simulate.s2 import zip_safe

    item = write_cog_copy(zip_safe(sim.pre, tmp_path), tmp_path / "cog", ("B12",))
    np.testing.assert_array_equal(
        open_stac_item(str(item)).band("B12").values, open_s2(sim.pre).band("B12").values
    )
