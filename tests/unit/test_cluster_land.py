"""The exact per-detection land test (:mod:`rus.toolbox.sar.land_check`)."""

from __future__ import annotations

import numpy as np
import pytest

from rus.toolbox.errors import ToolboxError
from rus.toolbox.sar.land_check import GshhgLookup, detections_on_land, scene_boxes


def _to_lonlat(r: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return 13.0 + np.asarray(c) * 1e-4, 45.0 - np.asarray(r) * 1e-4


def _islet(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Land = one 'islet' pixel at row 10, column 20 (lon 13.002, lat 44.999)."""
    return (np.abs(lon - 13.002) < 5e-5) & (np.abs(lat - 44.999) < 5e-5)


def test_any_pixel_or_the_centre_on_land_flags_the_detection() -> None:
    # detection 0: pixels around (10, 20), one of them on the islet
    # detection 1: pixels far away, centre far away
    # detection 2: pixels off the islet but its reported centre on it
    rows = np.array([9, 10, 11, 50, 51, 9, 11], np.int64)
    cols = np.array([20, 20, 20, 60, 60, 19, 21], np.int64)
    owner = np.array([0, 0, 0, 1, 1, 2, 2], np.int64)
    centre_r = np.array([10.0, 50.5, 10.0])
    centre_c = np.array([20.0, 60.0, 20.0])
    out = detections_on_land(rows, cols, owner, centre_r, centre_c, _to_lonlat, _islet)
    assert out.tolist() == [True, False, True]


def test_no_land_and_empty_inputs() -> None:
    rows = np.array([1, 2], np.int64)
    out = detections_on_land(
        rows, rows, np.array([0, 0]), np.array([1.5]), np.array([1.5]), _to_lonlat, _islet
    )
    assert out.tolist() == [False]
    z = np.zeros(0, np.int64)
    empty = detections_on_land(z, z, z, np.zeros(0), np.zeros(0), _to_lonlat, _islet)
    assert empty.shape == (0,)


def test_bad_owners_are_rejected() -> None:
    rows = np.array([1, 2], np.int64)
    with pytest.raises(ToolboxError, match="owners"):
        detections_on_land(
            rows, rows, np.array([0, 3]), np.zeros(2), np.zeros(2), _to_lonlat, _islet
        )
    with pytest.raises(ToolboxError, match="one value per pixel"):
        detections_on_land(rows, rows, np.array([0]), np.zeros(1), np.zeros(1), _to_lonlat, _islet)


def test_scene_boxes_split_at_the_antimeridian() -> None:
    assert scene_boxes([13.0, 13.5], [45.0, 45.5], margin=0.0) == [(13.0, 45.0, 13.5, 45.5)]
    boxes = scene_boxes([179.5, -179.8, 180.2], [10.0, 10.5, 10.2], margin=0.0)
    assert boxes[0] == (179.5, 10.0, 180.0, 10.5)
    assert boxes[1][0] == -180.0 and boxes[1][2] == pytest.approx(-179.8)
    with pytest.raises(ToolboxError, match="not finite"):
        scene_boxes([np.nan], [1.0])


@pytest.mark.slow
def test_worker_processes_answer_like_this_process() -> None:
    """The isolated lookup (cells in a worker, clipped polygons for the exact test) agrees."""
    from rus.products.landmask import is_land

    def grid(r: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # Venice lagoon, islets included: 12.30-12.50 E, 45.42-45.52 N
        return 12.30 + np.asarray(c) * 1e-3, 45.52 - np.asarray(r) * 1e-3

    gshhg = GshhgLookup(isolate=True)
    cells = gshhg.cells(grid, (100, 200))
    assert gshhg.clipped is not None
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(12.30, 12.50, 200_000), rng.uniform(45.42, 45.52, 200_000)
    lon[0], lat[0] = 12.39665, 45.50925  # an islet smaller than a mask cell
    expected = is_land(lon, lat)
    assert expected[0] and 0.05 < expected.mean() < 0.95
    assert np.array_equal(gshhg.is_land(lon, lat), expected)
    assert np.array_equal(cells, GshhgLookup().cells(grid, (100, 200)))
    with pytest.raises(ToolboxError, match="outside the area"):
        gshhg.is_land([13.8], [45.6])
