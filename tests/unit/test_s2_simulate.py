"""The Sentinel-2 fire simulator: truth files, severity contract, determinism, AOI and errors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from rus.products.errors import ProductError
from rus.products.sentinel2 import open_s2
from rus.products.simulate.s2 import S2FireSimulation, simulate_s2_fire


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> S2FireSimulation:
    return simulate_s2_fire(tmp_path_factory.mktemp("sim"), shape=(1200, 1200), seed=7)


def _usgs(rbr_x1000: np.ndarray) -> np.ndarray:
    """USGS classes 3..7 (enhanced regrowth folded into 3) with lower bounds inclusive."""
    return np.select(
        [rbr_x1000 >= 660, rbr_x1000 >= 440, rbr_x1000 >= 270, rbr_x1000 >= 100],
        [7, 6, 5, 4],
        default=3,
    )


def test_truth_geojson(pair: S2FireSimulation) -> None:
    doc = json.loads(pair.truth.read_text())
    assert doc["simulated"] is True
    assert doc["crs"]["properties"]["name"].endswith("EPSG::32629")
    codes = [f["properties"]["severity_code"] for f in doc["features"]]
    assert codes == [4, 5, 6, 7]
    names = {
        f["properties"]["severity_code"]: f["properties"]["severity_name"] for f in doc["features"]
    }
    assert names == {4: "low", 5: "moderate-low", 6: "moderate-high", 7: "high"}
    from shapely.geometry import shape

    for f in doc["features"]:
        geom = shape(f["geometry"])
        assert f["properties"]["simulated"] is True
        assert geom.area / 1e4 == pytest.approx(f["properties"]["area_ha"], rel=1e-6)
        minx, miny, maxx, maxy = geom.bounds
        assert 499980 <= minx < maxx <= 499980 + 12000 and 4500000 - 12000 <= miny < maxy
    assert doc["burned_area_ha"] == pytest.approx(sum(z["area_ha"] for z in pair.zones))
    assert pair.zones[0]["area_ha"] > 100


def test_truth_cog_on_the_20m_grid(pair: S2FireSimulation) -> None:
    import rasterio

    with rasterio.open(pair.truth_severity) as ds:
        assert ds.dtypes[0] == "uint8" and ds.shape == (600, 600)
        assert ds.crs.to_epsg() == 32629
        assert tuple(ds.transform)[:6] == (20.0, 0.0, 499980.0, 0.0, -20.0, 4500000.0)
        assert "SIMULATED" in ds.tags()
        assert ds.overviews(1) or ds.profile.get("tiled")
        truth = ds.read(1)
    assert set(np.unique(truth)) <= {0, 3, 4, 5, 6, 7}
    per_class_ha = {c: float((truth == c).sum()) * 0.04 for c in (4, 5, 6, 7)}
    for z in pair.zones:  # clouds are kept off the scar: only water inside it is masked
        assert per_class_ha[z["severity_code"]] == pytest.approx(z["area_ha"], rel=0.02)


def test_a_correct_rbr_chain_recovers_the_truth(pair: S2FireSimulation) -> None:
    import rasterio

    pre, post = open_s2(pair.pre), open_s2(pair.post)

    def nbr(p: object) -> np.ndarray:
        nir = p.reflectance("B8A").values  # type: ignore[attr-defined]
        swir = p.reflectance("B12").values  # type: ignore[attr-defined]
        return (nir - swir) / (nir + swir)

    n0, n1 = nbr(pre), nbr(post)
    rbr = (n0 - n1) / (n0 + 1.001) * 1000
    with rasterio.open(pair.truth_severity) as ds:
        truth = ds.read(1)
    valid = truth > 0
    agree = (_usgs(rbr[valid]) == truth[valid]).mean()
    assert agree >= 0.97
    burned_true = (truth >= 4).sum()
    burned_found = ((_usgs(rbr) >= 4) & valid).sum()
    assert abs(burned_found - burned_true) / burned_true < 0.02
    unburned = truth == 3
    dnbr = n0 - n1
    assert np.nanmax(np.abs(dnbr[unburned])) < 0.1
    scl_pre, scl_post = pre.scl().values, post.scl().values
    masked = ~np.isin(scl_pre, (4, 5)) | ~np.isin(scl_post, (4, 5))
    assert np.array_equal(truth == 0, masked | (truth == 0))
    assert (truth[masked] == 0).all()


def test_realistic_reflectances(pair: S2FireSimulation) -> None:
    p = open_s2(pair.pre)
    scl = p.scl().values
    nir, red = p.reflectance("B8A").values, p.reflectance("B04", 20).values
    veg, water = scl == 4, scl == 6
    assert 0.2 < np.nanmedian(nir[veg]) < 0.4 and np.nanmedian(red[veg]) < 0.1
    assert np.nanmedian(nir[water]) < 0.03
    clouds = np.isin(scl, (8, 9))
    assert np.nanmedian(p.reflectance("B02", 20).values[clouds]) > 0.3


def test_same_seed_same_products(pair: S2FireSimulation, tmp_path: Path) -> None:
    again = simulate_s2_fire(tmp_path, shape=(1200, 1200), seed=7)
    for a, b in ((pair.pre, again.pre), (pair.post, again.post)):
        assert (a / "manifest.safe").read_bytes() == (b / "manifest.safe").read_bytes()
    digest = hashlib.sha256(pair.truth_severity.read_bytes()).hexdigest()
    assert digest == hashlib.sha256(again.truth_severity.read_bytes()).hexdigest()


def test_other_seed_other_scene(pair: S2FireSimulation, tmp_path: Path) -> None:
    other = simulate_s2_fire(tmp_path, shape=(300, 300), seed=8)
    first = open_s2(pair.pre).band("B8A").values[:150, :150]
    assert not np.array_equal(open_s2(other.pre).band("B8A").values, first)


def test_wkt_aoi_centres_a_utm_grid(tmp_path: Path) -> None:
    wkt = "POLYGON((12.4 41.8, 12.6 41.8, 12.6 41.95, 12.4 41.95, 12.4 41.8))"  # Rome
    sim = simulate_s2_fire(tmp_path, shape=(300, 300), seed=1, aoi=wkt)
    p = open_s2(sim.pre)
    assert p.metadata.crs == "EPSG:32633"
    assert p.metadata.tile_id == "33TTG"
    c = p.metadata.footprint.centroid
    assert abs(c.x - 12.5) < 0.05 and abs(c.y - 41.875) < 0.05


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ProductError, match="multiples of 6"):
        simulate_s2_fire(tmp_path, shape=(1000, 1000))
    with pytest.raises(ProductError, match="WKT"):
        simulate_s2_fire(tmp_path, shape=(300, 300), aoi="atlantis")
    with pytest.raises(ProductError, match="baseline"):
        simulate_s2_fire(tmp_path, shape=(300, 300), baseline="new")
    assert not list(tmp_path.glob("*.SAFE"))


def test_chunks_are_whole_jp2_tiles_and_tasks_independent(pair: S2FireSimulation) -> None:
    import rasterio

    band = open_s2(pair.pre).band("B08")  # 1200 x 1200 at 10 m, 1024 x 1024 JP2 tiles
    with rasterio.open(band.attrs["source_file"]) as ds:
        assert ds.block_shapes[0] == (1024, 1024)
    assert band.data.chunks == ((1024, 176), (1024, 176))
    graph = dict(band.data.__dask_graph__())
    assert len(graph) == 4  # one read task per tile, no shared lock or open-file task
    assert all(key[0].startswith("read-B08-") for key in graph)
