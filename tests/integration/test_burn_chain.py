"""Burned-area chain end to end on a simulated Sentinel-2 pair: quality, outputs, CLI, inputs."""

from __future__ import annotations

import json
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import pytest
import rasterio

from rus.chains.burned_area import BurnParams, BurnWarning, compute_burn_severity, run_burned_area
from rus.products.simulate.s2 import simulate_s2_fire

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A 2196 x 2196 (10 m) simulated pre/post pair with its truth."""
    return simulate_s2_fire(tmp_path_factory.mktemp("s2fire"), shape=(2196, 2196), seed=3)


@pytest.fixture(scope="module")
def run(sim: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return run_burned_area(sim.pre, sim.post, tmp_path_factory.mktemp("burn") / "out")


def _cli(args: list[str]) -> int:
    """Run ``rus`` in-process; its exit code (0 when it returns)."""
    from rus.cli import main

    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read(1)


def test_quality_against_truth(sim: Any, run: Any) -> None:
    truth = _read(sim.truth_severity)
    ours = _read(run.files["severity"])
    assert ours.shape == truth.shape == (1098, 1098)
    truth_ha = np.count_nonzero(truth >= 4) * 0.04
    ours_ha = run.stats["burned_ha"]
    assert truth_ha > 1000  # a real scar to find
    assert abs(ours_ha - truth_ha) / truth_ha < 0.03
    both = (truth > 0) & (ours > 0)
    agreement = np.mean(truth[both] == ours[both])
    assert agreement >= 0.90
    # masks: what the truth calls valid, the chain does not lose
    assert np.count_nonzero((truth > 0) & (ours == 0)) / np.count_nonzero(truth > 0) < 0.01
    assert run.stats["simulated"] is True and run.warnings == []


def test_raster_outputs_are_styled_cogs(run: Any) -> None:
    out = run.out_dir
    for name in ("dnbr", "rbr", "rdnbr"):
        with rasterio.open(out / f"{name}.tif") as ds:
            assert ds.dtypes[0] == "float32" and np.isnan(ds.nodata)
            assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
            tags = ds.tags(1)
            assert "not multiplied by 1000" in tags["scale"] and tags["units"] == "1"
            assert tags["simulated"] == "SIMULATED inputs"
            assert ds.overviews(1) == []  # off by default (BurnParams.index_overviews)
    with rasterio.open(out / "severity.tif") as ds:
        assert ds.dtypes[0] == "uint8" and ds.nodata == 0
        cmap = ds.colormap(1)
        assert cmap[7][:3] == (0xA4, 0x1F, 0xD6) and cmap[4][:3] == (0xFF, 0xF7, 0x0B)
        assert ds.tags(1)["CLASS_5"] == "Moderate-low severity"
        assert ds.overviews(1)[0] == 2
    aux = ET.parse(out / "severity.tif.aux.xml").getroot()
    cats = [c.text for c in aux.iter("Category")]
    assert cats[0] == "No data / masked" and cats[7] == "High severity" and len(cats) == 8
    qml = ET.parse(out / "severity.qml").getroot()
    labels = {e.get("value"): e.get("label") for e in qml.iter("paletteEntry")}
    assert labels["6"] == "Moderate-high severity"
    # dNBR is the formula of the two dates' NBR: check it on the cleaned index values
    dnbr, rbr = _read(out / "dnbr.tif"), _read(out / "rbr.tif")
    sev = _read(out / "severity.tif")
    assert np.all(np.isnan(dnbr[sev == 0])) and np.all(np.isfinite(dnbr[sev > 0]))
    high = rbr[sev == 7]
    assert high.size and np.nanmin(high) >= 0.66 - 1e-6


def test_vectors_stats_item_quicklook(run: Any) -> None:
    import geopandas as gpd

    out = run.out_dir
    with sqlite3.connect(out / "burned.gpkg") as con:
        layers = {r[0] for r in con.execute("select table_name from gpkg_contents")}
        version = con.execute("pragma user_version").fetchone()[0]
    assert layers == {"burned_severity", "burned_perimeter"}
    assert version == 10300  # GeoPackage 1.3: QGIS 3.22 / GDAL 3.6 open it without a warning
    polys = gpd.read_file(out / "burned.gpkg", layer="burned_severity")
    assert set(polys["severity_code"]) <= {4, 5, 6, 7} and len(polys) > 0
    assert {"severity", "area_ha", "patch_id"} <= set(polys.columns)
    assert polys["area_ha"].sum() == pytest.approx(run.stats["burned_ha"], rel=1e-6)
    per = gpd.read_file(out / "burned.gpkg", layer="burned_perimeter")
    assert per["area_ha"].sum() == pytest.approx(run.stats["burned_ha"], rel=1e-6)
    assert per["area_ha"].min() >= 1.0  # the minimum mapping unit holds
    kml = ET.parse(out / "burned.kml").getroot()
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    assert len(kml.findall(".//k:Placemark", ns)) == len(polys)
    assert "SIMULATED" in kml.find(".//k:Document/k:name", ns).text  # type: ignore[union-attr]
    stats = json.loads((out / "stats.json").read_text())
    assert stats["burned_ha"] == run.stats["burned_ha"]
    assert 0 < stats["masked_fraction"] < 0.5
    assert sum(c["hectares"] for k, c in stats["classes"].items() if k in "4567") == (
        pytest.approx(stats["burned_ha"], abs=0.01)
    )
    assert stats["pre_fire"]["nir_band"] == "B8A" and stats["grid"]["resolution_m"] == 20.0
    item = json.loads((out / "item.json").read_text())
    assert pystac.Item.from_dict(item).properties["rus:burned_ha"] == stats["burned_ha"]
    assert item["properties"]["rus:simulated"] is True
    assert {"dnbr", "rbr", "rdnbr", "severity", "burned", "kml", "stats", "quicklook"} <= set(
        item["assets"]
    )
    lon, lat = item["geometry"]["coordinates"][0][0]
    assert -9.5 < lon < -7 and 39 < lat < 41.5  # T29TNE, central Portugal
    with open(out / "quicklook.png", "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"


def test_cli_json_and_swapped_dates(
    sim: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["burn", str(sim.post), str(sim.pre), "--out", str(tmp_path / "o"), "--json"]
    assert _cli([*args, "--index", "dnbr", "--mmu", "0"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert any("BEFORE" in w for w in doc["warnings"])
    assert any("no burned pixel" in w for w in doc["warnings"])  # swapped: never silent
    assert doc["classes"]["1"]["pixels"] + doc["classes"]["2"]["pixels"] > 0  # "regrowth"
    assert doc["parameters"]["index"] == "dnbr"
    assert (tmp_path / "o" / "severity.tif").is_file()


def test_cli_bad_option(sim: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["burn", str(sim.pre), str(sim.post), "--out", str(tmp_path), "--mask-classes", "3,15"]
    assert _cli(args) == 2
    assert "0..11" in capsys.readouterr().err
    assert not (tmp_path / "severity.tif").exists()


def test_b08_at_10m_and_zip_and_cog_inputs(sim: Any, tmp_path: Path) -> None:
    from rus.products.simulate.s2 import write_cog_copy, zip_safe

    base = compute_burn_severity(sim.pre, sim.post)
    ten = compute_burn_severity(sim.pre, sim.post, BurnParams(nir_band="B08"))
    assert ten["severity"].shape == (2196, 2196) and ten.attrs["nir_band"] == "B08"
    ha20 = np.count_nonzero(base["severity"].to_numpy() >= 4) * 0.04
    ha10 = np.count_nonzero(ten["severity"].to_numpy() >= 4) * 0.01
    assert abs(ha10 - ha20) / ha20 < 0.05
    pre_zip = zip_safe(sim.pre, tmp_path)
    zipped = compute_burn_severity(pre_zip, sim.post)
    np.testing.assert_array_equal(zipped["severity"].to_numpy(), base["severity"].to_numpy())
    pre_item = write_cog_copy(sim.pre, tmp_path / "pre-cog")
    post_item = write_cog_copy(sim.post, tmp_path / "post-cog")
    cog = compute_burn_severity(str(pre_item), str(post_item))
    np.testing.assert_array_equal(cog["severity"].to_numpy(), base["severity"].to_numpy())
    np.testing.assert_allclose(cog["rbr"].to_numpy(), base["rbr"].to_numpy(), atol=1e-7)


def test_all_masked_is_an_error(sim: Any) -> None:
    from rus.chains.errors import ChainError

    with pytest.raises(ChainError, match="no usable pixels"):
        compute_burn_severity(sim.pre, sim.post, BurnParams(mask_classes=tuple(range(12))))


def test_warning_category(sim: Any) -> None:
    with pytest.warns(BurnWarning, match="BEFORE"):
        compute_burn_severity(sim.post, sim.pre)
