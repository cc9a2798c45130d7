"""The fast CFAR equals a slow, literal per-pixel port of SNAP's AdaptiveThresholding rule."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rus.toolbox.errors import ToolboxError
from rus.toolbox.sar.cfar import (
    SNAP_FLOOR,
    CfarWindows,
    cfar_dask,
    cfar_mask,
    cfar_numpy,
    pfa_to_threshold,
    window_pixels,
    windows_from_metres,
)


def snap_cfar_reference(
    x: np.ndarray, w: CfarWindows, t: float, floor: float = SNAP_FLOOR
) -> np.ndarray:
    """Literal per-pixel loop: target mean vs ring mean + t * ring population std.

    Windows are clipped to the image; NaN (no-data) pixels are skipped in every sum and are never
    flagged; target means below ``floor`` are never flagged.
    """
    rows, cols = x.shape
    ht, hg, hb = w.target // 2, w.guard // 2, w.background // 2
    out = np.zeros(x.shape, dtype=bool)
    for i in range(rows):
        for j in range(cols):
            if math.isnan(x[i, j]):
                continue
            tsum, tn = 0.0, 0
            for a in range(max(i - ht, 0), min(i + ht + 1, rows)):
                for b in range(max(j - ht, 0), min(j + ht + 1, cols)):
                    if not math.isnan(x[a, b]):
                        tsum += float(x[a, b])
                        tn += 1
            tmean = tsum / tn
            if tmean < floor:
                continue
            ring = []
            for a in range(max(i - hb, 0), min(i + hb + 1, rows)):
                for b in range(max(j - hb, 0), min(j + hb + 1, cols)):
                    if abs(a - i) <= hg and abs(b - j) <= hg:
                        continue
                    if not math.isnan(x[a, b]):
                        ring.append(float(x[a, b]))
            if not ring:
                continue
            r = np.asarray(ring, dtype=np.float64)
            out[i, j] = tmean > r.mean() + t * r.std()
    return out


def _scene(rows: int, cols: int, seed: int) -> np.ndarray:
    """Gamma clutter (4 looks) with bright targets, a land block (NaN) and a no-data corner."""
    rng = np.random.default_rng(seed)
    x = rng.gamma(4.0, 0.02 / 4.0, size=(rows, cols)).astype(np.float32)
    for _ in range(6):
        r, c = rng.integers(0, rows - 3), rng.integers(0, cols - 3)
        x[r : r + 3, c : c + 2] = rng.uniform(0.3, 3.0)
    x[: rows // 4, cols - cols // 3 :] = np.nan  # land
    x[rows - 5 :, :7] = np.nan  # no-data corner
    x[rows // 2, cols // 2] = 0.0005  # below the floor
    return x


WINDOWS = CfarWindows(3, 9, 15)


def test_window_pixels_follow_snap() -> None:
    assert window_pixels(50, 10) == 7
    assert window_pixels(500, 10) == 51
    assert window_pixels(800, 10) == 81
    w = windows_from_metres(50, 500, 800, 10.0)
    assert (w.target, w.guard, w.background) == (7, 51, 81)
    assert w.ring_pixels == 3960


def test_pfa_threshold_values() -> None:
    assert pfa_to_threshold(6.5) == pytest.approx(4.98, abs=0.01)
    assert pfa_to_threshold(12.5) == pytest.approx(7.19, abs=0.01)
    assert math.isfinite(pfa_to_threshold(40.0))


@pytest.mark.parametrize("pfa", [0.0, -1.0, float("nan"), 1000.0])
def test_pfa_out_of_range_is_a_clear_error(pfa: float) -> None:
    with pytest.raises(ToolboxError, match="PFA"):
        pfa_to_threshold(pfa)


def test_bad_windows_rejected() -> None:
    with pytest.raises(ToolboxError, match="odd"):
        cfar_numpy(np.ones((5, 5), np.float32), CfarWindows(3, 8, 15), 3.0)
    with pytest.raises(ToolboxError, match="target <= guard < background"):
        cfar_numpy(np.ones((5, 5), np.float32), CfarWindows(3, 15, 9), 3.0)


def test_numpy_equals_reference() -> None:
    x = _scene(40, 52, seed=1)
    t = 3.0
    ref = snap_cfar_reference(x, WINDOWS, t)
    fast, clutter = cfar_numpy(x, WINDOWS, t)
    assert ref.sum() > 5  # the targets are found, not a trivially empty comparison
    assert ((~ref) & ~np.isnan(x)).sum() > 100
    np.testing.assert_array_equal(fast, ref)
    assert not fast[np.isnan(x)].any()
    assert np.isfinite(clutter[fast]).all()


@pytest.mark.parametrize("chunks", [(40, 52), (20, 26), (7, 9), (5, 50), (13, 11)])
def test_dask_equals_reference_at_any_chunking(chunks: tuple[int, int]) -> None:
    import dask.array as da

    x = _scene(40, 52, seed=2)
    t = 2.5
    ref = snap_cfar_reference(x, WINDOWS, t)
    flag, _ = cfar_dask(da.from_array(x, chunks=chunks), WINDOWS, t)
    got = flag.compute(scheduler="synchronous")
    np.testing.assert_array_equal(got, ref)
    assert ref.sum() > 5


def test_larger_image_many_chunkings_agree() -> None:
    import dask.array as da

    x = _scene(300, 260, seed=3)
    w = CfarWindows(5, 21, 41)
    t = pfa_to_threshold(6.5)
    whole, _ = cfar_numpy(x, w, t)
    for chunks in [(64, 64), (17, 250), (300, 30)]:
        flag, _ = cfar_dask(da.from_array(x, chunks=chunks), w, t)
        np.testing.assert_array_equal(flag.compute(), whole)
    assert whole.sum() > 10


def test_window_larger_than_image() -> None:
    x = _scene(12, 10, seed=4)
    w = CfarWindows(3, 21, 41)
    ref = snap_cfar_reference(x, w, 2.0)
    fast, _ = cfar_numpy(x, w, 2.0)
    np.testing.assert_array_equal(fast, ref)


def test_all_nodata_gives_empty_mask() -> None:
    import dask.array as da
    import xarray as xr

    x = np.full((30, 30), np.nan, np.float32)
    da_x = xr.DataArray(da.from_array(x, chunks=10), dims=("line", "pixel"))
    ds = cfar_mask(da_x, WINDOWS, 12.5)
    assert not ds["detected"].values.any()
    assert ds["detected"].attrs["units"] == "1"
