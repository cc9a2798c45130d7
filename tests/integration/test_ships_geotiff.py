"""The whole chain on a single-band GeoTIFF (the user's own data path), the CLI and bad input.

The GeoTIFF is built here: gamma speckle sea clutter (4.4 looks) over the Gulf of Trieste in UTM
33N, with rotated rectangular ships of known length and heading blurred to 20 m resolution, and
the real coastline (GSHHG) on its eastern edge. Nothing in the chain knows where the ships are.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from typer.testing import CliRunner

from rus.chains.errors import ChainError
from rus.chains.ship_detection import ShipDetectionParams, detect_ships, run_ship_detection
from rus.cli import build_app
from rus.toolbox.scoring import score_ships

X0, Y0, PX = 380_000.0, 5_058_000.0, 10.0  # UTM 33N top-left corner, 10 m pixels
CLUTTER = 0.01  # mean sea sigma0 (linear), about -20 dB


def _ship_pixels(
    img: np.ndarray,
    row: float,
    col: float,
    length_px: float,
    width_px: float,
    heading: float,
    brightness: float,
) -> None:
    """Add a rotated rectangle (area-weighted with 4 x 4 sub-samples) to ``img``."""
    rad = math.radians(heading)  # clockwise from north (image up)
    ur, uc = -math.cos(rad), math.sin(rad)  # along-ship unit vector in (row, col)
    half = int(length_px / 2 + width_px + 3)
    r0, c0 = int(row) - half, int(col) - half
    sub = (np.arange(4) + 0.5) / 4 - 0.5
    rr, cc = np.mgrid[r0 : r0 + 2 * half + 1, c0 : c0 + 2 * half + 1].astype(float)
    cover = np.zeros(rr.shape)
    for dr in sub:
        for dc in sub:
            pr, pc = rr + dr - row, cc + dc - col
            along = pr * ur + pc * uc
            across = -pr * uc + pc * ur
            cover += (np.abs(along) <= length_px / 2) & (np.abs(across) <= width_px / 2)
    img[r0 : r0 + 2 * half + 1, c0 : c0 + 2 * half + 1] += brightness * cover / 16.0


def make_scene(
    path: Path,
    *,
    rows: int = 1200,
    cols: int = 2600,
    ships: int = 25,
    seed: int = 0,
    scale: str = "linear",
) -> gpd.GeoDataFrame:
    """Write a synthetic backscatter GeoTIFF; return the truth (points, length_m, heading_deg)."""
    import rasterio
    from pyproj import Transformer
    from rasterio.transform import from_origin

    from rus.products.landmask import is_land

    rng = np.random.default_rng(seed)
    to_ll = Transformer.from_crs(32633, 4326, always_xy=True)
    clean = np.zeros((rows, cols), np.float64)
    truth = []
    tries = 0
    while len(truth) < ships and tries < 5000:
        tries += 1
        r, c = rng.uniform(40, rows - 40), rng.uniform(40, cols - 40)
        if any(math.hypot(r - t["row"], c - t["col"]) < 60 for t in truth):
            continue
        x, y = X0 + (c + 0.5) * PX, Y0 - (r + 0.5) * PX
        ang = np.linspace(0, 2 * np.pi, 16, endpoint=False)
        lon, lat = to_ll.transform(x + 1500 * np.cos(ang), y + 1500 * np.sin(ang))
        if is_land(lon, lat).any():
            continue
        length = rng.uniform(40, 250)
        width = length / 6.5 + 4
        heading = rng.uniform(0, 180)
        _ship_pixels(clean, r, c, length / PX, width / PX, heading, rng.uniform(0.4, 3.0))
        lon0, lat0 = to_ll.transform(x, y)
        truth.append(
            {
                "row": r,
                "col": c,
                "lon": lon0,
                "lat": lat0,
                "length_m": length,
                "width_m": width,
                "heading_deg": heading,
            }
        )
    from scipy.ndimage import gaussian_filter

    clean = gaussian_filter(clean, sigma=20.0 / 2.355 / PX)  # the radar's blur: 20 m resolution
    speckle = rng.gamma(4.4, 1 / 4.4, size=(rows, cols))
    img = ((CLUTTER + clean) * speckle).astype(np.float32)
    if scale == "db":
        img = 10 * np.log10(img)
    elif scale == "amplitude":
        img = np.sqrt(img)
    profile = {
        "driver": "GTiff",
        "height": rows,
        "width": cols,
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:32633",
        "transform": from_origin(X0, Y0, PX, PX),
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "nodata": -9999.0,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(img, 1)
    df = gpd.GeoDataFrame(
        truth,
        geometry=gpd.points_from_xy([t["lon"] for t in truth], [t["lat"] for t in truth]),
        crs="EPSG:4326",
    )
    return df


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, gpd.GeoDataFrame]:
    path = tmp_path_factory.mktemp("geotiff") / "scene.tif"
    truth = make_scene(path)
    truth.to_file(path.with_name("truth.geojson"))
    return path, truth


def test_chain_on_geotiff_finds_ships_with_lengths(
    scene: tuple[Path, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    path, truth = scene
    params = ShipDetectionParams(chunk_lines=512, chunk_pixels=1024)
    run = run_ship_detection(path, tmp_path / "out", params)
    ships = run.ships
    assert len(truth) >= 20
    s = score_ships(truth, ships, min_length_m=30, shore_km=None)
    assert s.f1 >= 0.95, s
    assert s.length_mean_rel_error <= 0.20, s
    # SNAP's box length is biased high by the target window; the corrected one is not.
    snap = score_ships(
        truth, ships, min_length_m=30, shore_km=None, pred_length_field="length_snap_m"
    )
    assert snap.length_mean_rel_error > s.length_mean_rel_error
    # no detection on land
    from rus.products.landmask import is_land

    assert not is_land(ships["lon"], ships["lat"]).any()
    assert run.detection.land is not None and run.detection.land.any()
    # outputs
    for key in ("ships_gpkg", "ships_geojson", "ships_kml", "ships_csv", "quicklook", "item"):
        assert run.outputs[key].is_file(), key
    gpkg = gpd.read_file(run.outputs["ships_gpkg"], layer="ships")
    assert len(gpkg) == len(ships) and gpkg.crs.to_epsg() == 4326
    kml = run.outputs["ships_kml"].read_text()
    assert kml.count("<Placemark>") == len(ships)
    assert f"Ship 1: {ships['length_m'].iloc[0]:.0f} m" in kml
    assert '<Data name="heading_deg">' in kml
    item = json.loads(run.outputs["item"].read_text())
    assert item["properties"]["rus:parameters"]["pfa"] == 12.5
    assert item["properties"]["rus:simulated"] is False
    assert set(item["assets"]) >= {"ships_gpkg", "ships_kml", "quicklook"}


def test_heading_and_no_duplicates(scene: tuple[Path, gpd.GeoDataFrame]) -> None:
    path, truth = scene
    a = detect_ships(path, ShipDetectionParams(chunk_lines=300, chunk_pixels=700))
    b = detect_ships(path, ShipDetectionParams(chunk_lines=1200, chunk_pixels=2600))
    cols = ["row", "col", "length_m", "npix"]
    np.testing.assert_allclose(a[cols].to_numpy(), b[cols].to_numpy())
    from rus.toolbox.scoring import match_points

    m = match_points((truth["lon"], truth["lat"]), (a["lon"], a["lat"]))
    long = truth["length_m"].to_numpy()[m.truth] > 100
    dh = np.abs(truth["heading_deg"].to_numpy()[m.truth] - a["heading_deg"].to_numpy()[m.pred])
    dh = np.minimum(dh % 180, 180 - dh % 180)
    assert np.median(dh[long]) < 10


@pytest.mark.parametrize("scale", ["db", "amplitude"])
def test_input_scales_give_the_same_ships(tmp_path: Path, scale: str) -> None:
    lin, other = tmp_path / "lin.tif", tmp_path / f"{scale}.tif"
    make_scene(lin, rows=400, cols=500, ships=4, seed=3)
    make_scene(other, rows=400, cols=500, ships=4, seed=3, scale=scale)
    a = detect_ships(lin, ShipDetectionParams())
    b = detect_ships(other, ShipDetectionParams(input_scale=scale))
    assert len(a) >= 3
    np.testing.assert_allclose(a[["row", "col"]], b[["row", "col"]], atol=1e-3)


def test_cli_ships_and_evaluate(scene: tuple[Path, gpd.GeoDataFrame], tmp_path: Path) -> None:
    path, _ = scene
    runner = CliRunner()
    app = build_app()
    out = tmp_path / "cli"
    res = runner.invoke(app, ["ships", str(path), "--out", str(out), "--pfa", "10", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["ships"] >= 20 and summary["windows_px"]["target"] == 7
    res = runner.invoke(
        app,
        [
            "evaluate",
            "ships",
            "--truth",
            str(path.with_name("truth.geojson")),
            "--pred",
            str(out / "ships.gpkg"),
            "--min-length",
            "30",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    score = json.loads(res.output)
    assert score["f1"] >= 0.95 and score["tp"] >= 20


def test_cli_rejects_bad_pfa(tmp_path: Path) -> None:
    from rus.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["ships", str(tmp_path / "x.tif"), "--out", str(tmp_path), "--pfa", "0"])
    assert exc.value.code == 2


def test_bad_pfa_is_a_chain_error() -> None:
    with pytest.raises(ChainError, match="pfa"):
        ShipDetectionParams.build(pfa=400)


def test_all_nodata_scene_is_empty_with_warning(tmp_path: Path) -> None:
    import rasterio
    from rasterio.transform import from_origin

    path = tmp_path / "nodata.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=200,
        width=200,
        count=1,
        dtype="float32",
        crs="EPSG:32633",
        transform=from_origin(X0, Y0, PX, PX),
        nodata=0.0,
    ) as dst:
        dst.write(np.zeros((200, 200), np.float32), 1)
    with pytest.warns(UserWarning, match="no valid"):
        run = run_ship_detection(path, tmp_path / "out", ShipDetectionParams())
    assert len(run.ships) == 0
    assert gpd.read_file(run.outputs["ships_gpkg"], layer="ships").empty


def test_scene_on_land_is_empty_with_warning(tmp_path: Path) -> None:
    import rasterio
    from rasterio.transform import from_origin

    path = tmp_path / "land.tif"  # near Ljubljana, 60 km inland
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=300,
        width=300,
        count=1,
        dtype="float32",
        crs="EPSG:32633",
        transform=from_origin(460_000, 5_105_000, PX, PX),
    ) as dst:
        dst.write(np.full((300, 300), 0.05, np.float32), 1)
    with pytest.warns(UserWarning, match="entirely on land"):
        run = run_ship_detection(path, tmp_path / "out", ShipDetectionParams())
    assert len(run.ships) == 0 and run.outputs["quicklook"].is_file()


def test_window_larger_than_image_warns(tmp_path: Path) -> None:
    path = tmp_path / "small.tif"
    make_scene(path, rows=60, cols=60, ships=0)
    with pytest.warns(UserWarning, match="larger than the image"):
        ships = detect_ships(path, ShipDetectionParams())
    assert len(ships) == 0


def test_geographic_tiff_needs_pixel_spacing(tmp_path: Path) -> None:
    import rasterio
    from rasterio.transform import from_origin

    path = tmp_path / "ll.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=100,
        width=100,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=from_origin(13.3, 45.2, 1e-4, 1e-4),
    ) as dst:
        dst.write(np.full((100, 100), 0.01, np.float32), 1)
    with pytest.raises(ChainError, match="pixel-spacing"):
        detect_ships(path, ShipDetectionParams())
    ships = detect_ships(path, ShipDetectionParams(pixel_spacing_m=10.0))
    assert len(ships) == 0


def test_user_vector_land_mask(tmp_path: Path) -> None:
    from pyproj import Transformer
    from shapely.geometry import box

    path = tmp_path / "scene.tif"
    make_scene(path, rows=400, cols=600, ships=6, seed=5)
    free = detect_ships(path, ShipDetectionParams(land_mask="none"))
    assert len(free) >= 5
    # "land" = the western half of the image, as lon/lat polygons in a GeoPackage
    to_ll = Transformer.from_crs(32633, 4326, always_xy=True)
    w, s = to_ll.transform(X0 - 1000, Y0 - 400 * PX - 1000)
    e, n = to_ll.transform(X0 + 300 * PX, Y0 + 1000)
    mask = tmp_path / "land.gpkg"
    gpd.GeoDataFrame(geometry=[box(w, s, e, n)], crs="EPSG:4326").to_file(mask)
    masked = detect_ships(path, ShipDetectionParams(land_mask=mask, shoreline_buffer_m=0))
    west = free["col"] < 295
    assert west.any() and (~west).any()
    assert len(masked) == int((~west).sum())
    assert (masked["col"] > 300).all()
