"""Ship detection on simulated Sentinel-1 IW GRDH products (rus simulate s1): quality and runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest

from rus.chains.ship_detection import ShipDetectionParams, detect_ships, run_ship_detection
from rus.errors import RusError
from rus.toolbox.scoring import score_ships


@pytest.fixture(scope="module")
def product(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, gpd.GeoDataFrame]:
    from rus.products.simulate.s1 import simulate_s1_grd

    out = tmp_path_factory.mktemp("s1")
    res = simulate_s1_grd(out, shape=(1500, 2600), ships=30, seed=11, pols=("VV", "VH"))
    return Path(res.product), gpd.read_file(res.truth)


def test_quality_on_simulated_scene(product: tuple[Path, gpd.GeoDataFrame], tmp_path: Path) -> None:
    path, truth = product
    run = run_ship_detection(path, tmp_path / "out")
    ships = run.ships
    assert (truth["length_m"] >= 30).sum() >= 15
    s = score_ships(truth, ships, min_length_m=30)
    assert s.f1 >= 0.95, s
    assert s.length_mean_rel_error <= 0.20, s
    snap = score_ships(truth, ships, min_length_m=30, pred_length_field="length_snap_m")
    assert snap.length_mean_rel_error > 2 * s.length_mean_rel_error  # SNAP's box is biased high
    from rus.products.landmask import is_land

    assert not is_land(ships["lon"], ships["lat"]).any(), "a detection on land"
    item = json.loads(run.outputs["item"].read_text())
    assert item["properties"]["rus:simulated"] is True
    assert item["properties"]["rus:band"] == "VH"  # cross-polarisation first, like SNAP
    assert "SIMULATED" in run.outputs["ships_kml"].read_text()


def test_no_duplicates_at_chunk_borders(product: tuple[Path, gpd.GeoDataFrame]) -> None:
    path, _ = product
    small = detect_ships(path, ShipDetectionParams(chunk_lines=512, chunk_pixels=512))
    large = detect_ships(path, ShipDetectionParams(chunk_lines=4096, chunk_pixels=4096))
    assert len(small) == len(large) > 10
    cols = ["row", "col", "length_m", "width_m", "heading_deg", "npix", "length_snap_m"]
    np.testing.assert_allclose(small[cols].to_numpy(), large[cols].to_numpy(), rtol=1e-9)
    # no two detections closer than a ship length
    xy = small[["row", "col"]].to_numpy()
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    assert d.min() > 10


def test_distributed_cluster_gives_identical_result(
    product: tuple[Path, gpd.GeoDataFrame],
) -> None:
    from distributed import LocalCluster

    path, _ = product
    params = ShipDetectionParams(chunk_lines=1024, chunk_pixels=1024)
    local = detect_ships(path, params)
    with LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        remote = detect_ships(path, params, scheduler=cluster.scheduler_address)
    cols = [c for c in local.columns if c != "geometry"]
    np.testing.assert_array_equal(local[cols].to_numpy(), remote[cols].to_numpy())


def test_missing_calibration_is_a_clear_error(
    product: tuple[Path, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    path, _ = product
    copy = tmp_path / path.name
    shutil.copytree(path, copy)
    for xml in (copy / "annotation" / "calibration").glob("calibration-*.xml"):
        xml.unlink()
    with pytest.raises(RusError, match=r"(?i)calibration"):
        run_ship_detection(copy, tmp_path / "out")
    assert not (tmp_path / "out" / "ships.gpkg").exists()


def test_cli_evaluate_on_simulator_truth(
    product: tuple[Path, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from rus.cli import build_app

    path, _ = product
    truth = next(path.parent.glob("*.truth.geojson"))
    app = build_app()
    runner = CliRunner()
    res = runner.invoke(app, ["ships", str(path), "--out", str(tmp_path), "--band", "VV"])
    assert res.exit_code == 0, res.output
    assert "SIMULATED" in res.output
    res = runner.invoke(
        app,
        [
            "evaluate",
            "ships",
            "--truth",
            str(truth),
            "--pred",
            str(tmp_path / "ships.geojson"),
            "--min-length",
            "30",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["f1"] >= 0.95
