"""Burned-area chain on other inputs: the real Landsat-8 pair, generic GeoTIFFs, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from rus.chains.burned_area import BurnParams, BurnWarning, compute_burn_severity, run_burned_area
from rus.chains.errors import ChainError

CRS = "EPSG:32629"


def _write(path: Path, bands: list[np.ndarray], transform: object, dtype: str = "uint16") -> Path:
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=bands[0].shape[1],
        height=bands[0].shape[0],
        count=len(bands),
        dtype=dtype,
        crs=CRS,
        transform=transform,
        nodata=0,
    ) as ds:
        for i, b in enumerate(bands, start=1):
            ds.write(b.astype(dtype), i)
    return path


def _scene(burn: bool, rng: np.random.Generator, n: int = 200) -> list[np.ndarray]:
    """NIR and SWIR-2 DN (x 10000) of vegetation, with a 60 x 60 px burn when ``burn``."""
    nir = 3000 + rng.normal(0, 80, (n, n))
    swir2 = 1000 + rng.normal(0, 40, (n, n))
    if burn:
        nir[50:110, 60:120] = 1500 + rng.normal(0, 40, (60, 60))
        swir2[50:110, 60:120] = 2200 + rng.normal(0, 40, (60, 60))
    return [nir, swir2]


@pytest.fixture()
def pair(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(7)
    t = from_origin(500_000, 4_400_000, 20, 20)
    return (
        _write(tmp_path / "pre.tif", _scene(False, rng), t),
        _write(tmp_path / "post.tif", _scene(True, rng), t),
    )


def _open(path: Path) -> object:
    from rus.products.geotiff import open_geotiff

    return open_geotiff(path, bands={"nir": 1, "swir2": 2}, scale=1e-4)


def test_generic_geotiff_pair(pair: tuple[Path, Path], tmp_path: Path) -> None:
    with pytest.warns(BurnWarning, match="sensing time unknown"):
        run = run_burned_area(_open(pair[0]), _open(pair[1]), tmp_path / "out")
    # the 60 x 60 px burn at 20 m is 144 ha; NIR 0.30 -> 0.15, SWIR-2 0.10 -> 0.22: RBR ~ 0.57
    assert run.stats["burned_ha"] == pytest.approx(144.0, abs=0.5)
    assert run.stats["classes"]["6"]["hectares"] > 0.9 * 144.0  # noise puts a few px in 5
    assert run.stats["vectors"]["perimeters"] == 1


def test_post_on_another_grid_is_reprojected(pair: tuple[Path, Path], tmp_path: Path) -> None:
    with rasterio.open(pair[1]) as ds:
        data = [ds.read(1), ds.read(2)]
    shifted = _write(tmp_path / "post-shift.tif", data, from_origin(500_010, 4_399_990, 20, 20))
    with pytest.warns(BurnWarning, match="reprojected onto the pre-fire grid"):
        ds = compute_burn_severity(_open(pair[0]), _open(shifted))
    burned = np.count_nonzero(ds["severity"].to_numpy() >= 4) * 0.04
    assert burned == pytest.approx(144.0, rel=0.05)


def test_no_overlap_is_an_error(pair: tuple[Path, Path], tmp_path: Path) -> None:
    with rasterio.open(pair[1]) as ds:
        data = [ds.read(1), ds.read(2)]
    far = _write(tmp_path / "far.tif", data, from_origin(700_000, 4_400_000, 20, 20))
    with pytest.raises(ChainError, match="do not overlap"):
        compute_burn_severity(_open(pair[0]), _open(far))


def test_missing_band_is_an_error(pair: tuple[Path, Path]) -> None:
    from rus.products.geotiff import open_geotiff

    only_nir = open_geotiff(pair[1], bands={"nir": 1}, scale=1e-4)
    with pytest.raises(ChainError, match=r"missing band.*swir2"):
        compute_burn_severity(_open(pair[0]), only_nir)
    with pytest.raises(ChainError, match=r"missing band.*B7"):
        compute_burn_severity(_open(pair[0]), _open(pair[1]), BurnParams(nir="nir", swir2="B7"))


def test_all_cloud_post_is_an_error(tmp_path: Path) -> None:
    from rus.products.geotiff import open_geotiff_stack

    rng = np.random.default_rng(1)
    t = from_origin(500_000, 4_400_000, 20, 20)

    def stack(name: str, burn: bool, scl_value: int) -> object:
        nir, swir2 = _scene(burn, rng, 128)
        folder = tmp_path / name
        folder.mkdir()
        files = {
            "B8A": _write(folder / "B8A.tif", [nir], t),
            "B12": _write(folder / "B12.tif", [swir2], t),
            "SCL": _write(folder / "SCL.tif", [np.full((128, 128), scl_value)], t, "uint8"),
        }
        return open_geotiff_stack(files, scale=1e-4)

    with pytest.raises(ChainError, match=r"no usable pixels.*scl masked post 100\.0%"):
        compute_burn_severity(stack("pre", False, 4), stack("post", True, 9))


def test_real_landsat8_corumba_pair(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "landsat8-corumba-fire-2019"
    pre = folder / "LC08_L1TP_227074_20190809_20200827_02_T1_MTL.txt"
    post = folder / "LC08_L1TP_227074_20190825_20200826_02_T1_MTL.txt"
    with pytest.warns(BurnWarning, match="no cloud mask for the pre-fire .* and post-fire"):
        run = run_burned_area(pre, post, tmp_path / "out")
    with rasterio.open(run.files["dnbr"]) as ds:
        dnbr = ds.read(1)
        assert ds.crs.to_epsg() == 32621 and ds.res == (30.0, 30.0)
    finite = dnbr[np.isfinite(dnbr)]
    p95, p99 = np.percentile(finite, [95, 99])
    # published figures for this pair (TOA reflectance): p95 ~0.33, p99 ~0.41, ~17,700 ha > 0.1
    assert p95 == pytest.approx(0.33, abs=0.01) and p99 == pytest.approx(0.41, abs=0.01)
    assert np.count_nonzero(finite > 0.1) * 0.09 == pytest.approx(17_700, rel=0.03)
    # the RBR classes after the 1 ha MMU give a large, mostly low-severity scar
    assert 12_000 < run.stats["burned_ha"] < 17_700
    assert run.stats["classes"]["4"]["hectares"] > run.stats["classes"]["5"]["hectares"]
    assert run.stats["simulated"] is False


def test_cli_generic_geotiffs_with_band_mapping(
    pair: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from rus.cli import main

    out = tmp_path / "cli"
    args = ["burn", str(pair[0]), str(pair[1]), "--out", str(out), "--json"]
    try:
        main([*args, "--band", "nir=1", "--band", "swir2=2", "--scale", "0.0001", "--mmu", "0.5"])
    except SystemExit as exc:  # typer may exit explicitly with status 0
        assert exc.code in (0, None)
    doc = json.loads(capsys.readouterr().out)
    assert doc["burned_ha"] == pytest.approx(144.0, abs=0.5)
    assert doc["minimum_mapping_unit"]["min_pixels"] == 13
    assert doc["pre_fire"]["nir_band"] == "nir" and (out / "burned.kml").is_file()


def test_processing_baseline_04_offset(tmp_path: Path) -> None:
    """Products of baseline >= 04.00 (DN offset -1000) give the same map as the truth."""
    from rus.products.simulate.s2 import simulate_s2_fire

    sim = simulate_s2_fire(tmp_path / "sim", shape=(1098, 1098), seed=5, baseline="05.10")
    ds = compute_burn_severity(sim.pre, sim.post)
    with rasterio.open(sim.truth_severity) as src:
        truth = src.read(1)
    ours = ds["severity"].to_numpy()
    truth_ha = np.count_nonzero(truth >= 4) * 0.04
    assert truth_ha > 100
    assert np.count_nonzero(ours >= 4) * 0.04 == pytest.approx(truth_ha, rel=0.03)
    both = (truth > 0) & (ours > 0)
    assert np.mean(truth[both] == ours[both]) >= 0.9


def test_sentinel2_products_of_far_apart_tiles(tmp_path: Path) -> None:
    """Two simulated products of different tiles (Portugal, Greece): warned, then refused."""
    from rus.products.simulate.s2 import simulate_s2_fire

    here = simulate_s2_fire(tmp_path / "a", shape=(600, 600), seed=1)
    greece = "POLYGON((23.0 38.0, 23.2 38.0, 23.2 38.2, 23.0 38.2, 23.0 38.0))"
    there = simulate_s2_fire(tmp_path / "b", shape=(600, 600), seed=2, aoi=greece)
    with (
        pytest.warns(BurnWarning, match="different tiles"),
        pytest.raises(ChainError, match="do not overlap"),
    ):
        compute_burn_severity(here.pre, there.post)
