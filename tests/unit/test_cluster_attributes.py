"""Per-ship attributes: PSF-corrected, orientation-aware length/width and heading."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rus.toolbox.sar.attributes import SHIP_COLUMNS, ship_attributes
from rus.toolbox.sar.cluster import PixelTable, label_pixels
from rus.toolbox.sar.discrimination import cluster_boxes


def _identity_lonlat(r: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A north-up grid near the equator: 10 m pixels, rows southwards."""
    deg = 10.0 / 111_320.0
    return 13.0 + np.asarray(c) * deg, 0.0 - np.asarray(r) * deg


def _ship_table(length: float, width: float, heading: float, grow: int = 3) -> PixelTable:
    """A bright rectangle blurred by a 20 m-resolution PSF, cut out with a grown cluster."""
    from scipy.ndimage import binary_dilation, gaussian_filter

    n = 121
    sub = 4
    yy, xx = (np.mgrid[0 : n * sub, 0 : n * sub] + 0.5) / sub - n / 2
    t = math.radians(heading)
    along = -yy * math.cos(t) + xx * math.sin(t)  # heading clockwise from north (image up)
    across = yy * math.sin(t) + xx * math.cos(t)
    inside = (np.abs(along) <= length / 20) & (np.abs(across) <= width / 20)
    img = inside.reshape(n, sub, n, sub).mean(axis=(1, 3)).astype(float)
    img = gaussian_filter(img, sigma=(22 / 2.355 / 10, 20 / 2.355 / 10)) * 5.0 + 0.01
    mask = binary_dilation(img > 0.5, iterations=grow)
    r, c = np.nonzero(mask)
    return PixelTable(r, c, img[r, c].astype(np.float32), np.full(r.size, 0.01, np.float32))


@pytest.mark.parametrize(
    ("length", "width", "heading"), [(150, 20, 0), (150, 20, 90), (200, 30, 45), (80, 14, 120)]
)
def test_corrected_length_width_heading(length: float, width: float, heading: float) -> None:
    table = _ship_table(length, width, heading)
    labels, n = label_pixels(table.rows, table.cols)
    assert n == 1
    boxes = cluster_boxes(table.rows, table.cols, labels, n)
    df = ship_attributes(
        table,
        labels,
        boxes,
        np.array([True]),
        spacing=(10.0, 10.0),
        resolution=(22.0, 20.0),
        to_lonlat=_identity_lonlat,
    )
    assert set(df.columns) == set(SHIP_COLUMNS) - {"distance_to_coast_m"}
    rec = df.iloc[0]
    assert rec["length_m"] == pytest.approx(length, rel=0.10)
    assert rec["width_m"] == pytest.approx(width, abs=10)
    dh = abs(rec["heading_deg"] - heading % 180)
    assert min(dh, 180 - dh) < 3
    # SNAP's box is biased high (growth + blur), most for a diagonal ship
    assert rec["length_snap_m"] > rec["length_m"] or rec["width_snap_m"] > width + 20


def test_empty_selection_gives_empty_table() -> None:
    table = _ship_table(100, 20, 30)
    labels, n = label_pixels(table.rows, table.cols)
    boxes = cluster_boxes(table.rows, table.cols, labels, n)
    df = ship_attributes(
        table,
        labels,
        boxes,
        np.array([False]),
        spacing=(10.0, 10.0),
        resolution=(22.0, 20.0),
        to_lonlat=_identity_lonlat,
    )
    assert len(df) == 0 and "length_m" in df.columns
