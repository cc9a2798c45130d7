"""No detection on land: a bright GSHHG islet smaller than the land mask's 4-pixel cells.

The scene is a synthetic 10 m GeoTIFF (UTM 33N) over the northern Venice lagoon, placed so that
a real GSHHG islet of about 40 x 90 m (12.3967 E, 45.5092 N) falls between the centres of the
mask's 4 x 4 pixel cells: the cell mask calls it sea, the CFAR flags its bright return, and only
the exact per-detection land test keeps it out of the ships. A real ship in the channel nearby
must survive that test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rus.chains.ship_detection import (
    ShipDetectionParams,
    ShipDetectionWarning,
    open_scene,
    run_ship_detection,
)
from rus.chains.ship_detection.core import land_mask
from rus.products.landmask import is_land

PX, N = 10.0, 256
X0, Y0 = 296_643.0 - 1280.0, 5_042_820.0 + 1280.0  # top-left corner, islet near (128, 128)
SHIP = (60, 130)  # a 60 x 12 m ship in the lagoon channel, 400 m from any mask land


def _lonlat(rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from pyproj import Transformer

    to_ll = Transformer.from_crs(32633, 4326, always_xy=True)
    lon, lat = to_ll.transform(X0 + (cols + 0.5) * PX, Y0 - (rows + 0.5) * PX)
    return np.asarray(lon), np.asarray(lat)


def _islet_pixels() -> tuple[np.ndarray, np.ndarray]:
    rr, cc = np.mgrid[110:150, 110:150]
    on = is_land(*_lonlat(rr.astype(float), cc.astype(float)))
    return rr[on], cc[on]


def _write_scene(path: Path) -> None:
    import rasterio
    from rasterio.transform import from_origin
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(3)
    clean = np.zeros((N, N))
    clean[_islet_pixels()] = 2.0  # the islet's bright return (rocks, a building)
    clean[SHIP[0] - 3 : SHIP[0] + 3, SHIP[1] - 1 : SHIP[1] + 1] = 2.0
    clean = gaussian_filter(clean, sigma=20.0 / 2.355 / PX)
    img = ((0.01 + clean) * rng.gamma(4.4, 1 / 4.4, size=(N, N))).astype(np.float32)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=N,
        width=N,
        count=1,
        dtype="float32",
        crs="EPSG:32633",
        transform=from_origin(X0, Y0, PX, PX),
    ) as dst:
        dst.write(img, 1)


@pytest.fixture(scope="module")
def scene_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("islet") / "lagoon.tif"
    _write_scene(path)
    return path


def test_the_cell_mask_misses_the_islet(scene_path: Path) -> None:
    """Precondition: the islet is real land but the 4-pixel cell mask calls all of it sea."""
    rows, cols = _islet_pixels()
    assert rows.size >= 10  # about 14 pixels of 10 m
    params = ShipDetectionParams(shoreline_buffer_m=0)
    mask = land_mask(open_scene(scene_path, params), params)
    assert mask is not None and mask.any()
    assert not mask.full()[rows, cols].any()


def test_detection_on_a_sub_cell_islet_is_removed_and_reported(
    scene_path: Path, tmp_path: Path
) -> None:
    with pytest.warns(ShipDetectionWarning, match=r"1 detection\(s\) removed .*GSHHG"):
        run = run_ship_detection(scene_path, tmp_path / "out", ShipDetectionParams())
    ships = run.ships
    assert not is_land(ships["lon"], ships["lat"]).any()
    # the real ship survives, renumbered from 1
    assert len(ships) == 1 and list(ships["id"]) == [1]
    assert abs(ships["row"].iloc[0] - SHIP[0]) < 3 and abs(ships["col"].iloc[0] - SHIP[1]) < 3
    removed = run.detection.removed_on_land
    assert len(removed) == 1
    assert abs(removed[0]["lon"] - 12.3967) < 0.001 and abs(removed[0]["lat"] - 45.5092) < 0.001
    assert run.summary()["removed_on_land"] == 1
    assert run.item["properties"]["rus:removed_on_land"] == removed
    assert any("removed" in w for w in run.item["properties"]["rus:warnings"])


def test_without_a_land_mask_the_islet_is_a_detection(scene_path: Path) -> None:
    """The same scene unmasked: the islet's return is a CFAR detection (the test is not empty)."""
    from rus.chains.ship_detection import detect_ships

    ships = detect_ships(scene_path, ShipDetectionParams(land_mask="none"))
    assert is_land(ships["lon"], ships["lat"]).sum() >= 1
