"""The burn toolbox's numba kernels against plain NumPy, and the chain's shared job queue."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio

from rus.chains.burned_area._jobs import SharedQueue
from rus.toolbox import burn


def _reference_means(sev: np.ndarray, index: np.ndarray) -> dict[int, float | None]:
    out: dict[int, float | None] = {}
    for code in range(1, 8):
        values = index[sev == code]
        values = values[np.isfinite(values)]
        out[code] = float(values.mean(dtype=np.float64)) if values.size else None
    return out


def test_class_statistics_equals_numpy_with_nan_and_inf() -> None:
    rng = np.random.default_rng(5)
    sev = rng.integers(0, 8, (300, 200)).astype(np.uint8)
    sev[sev == 2] = 3  # one class absent: its mean is None
    index = rng.normal(0.2, 0.3, sev.shape).astype(np.float32)
    index[rng.random(sev.shape) < 0.05] = np.nan
    index[0, :5] = np.inf
    stats = burn.class_statistics(sev, 400.0, index=index, index_name="rbr")
    ref = _reference_means(sev, index)
    for code in range(1, 8):
        got = stats["classes"][str(code)]["mean_rbr"]
        if ref[code] is None:
            assert got is None
        else:
            assert got == pytest.approx(ref[code], rel=1e-9, abs=1e-12)
        assert stats["classes"][str(code)]["pixels"] == int(np.count_nonzero(sev == code))
    # a Fortran-ordered / non-float32 input is converted, not misread
    again = burn.class_statistics(np.asfortranarray(sev), 400.0, index=index.astype(np.float64))
    assert again["classes"]["5"]["pixels"] == stats["classes"]["5"]["pixels"]
    # float64 keeps its precision (not rounded to float32 on the way in)
    fine = index.astype(np.float64) + 1e-9
    ref64 = _reference_means(sev, fine)
    got64 = burn.class_statistics(sev, 400.0, index=fine, index_name="x")
    for code in (1, 3, 4, 5, 6, 7):
        assert got64["classes"][str(code)]["mean_x"] == pytest.approx(ref64[code], rel=1e-12)
    assert burn.count_outside(np.array([1.3 + 1e-12]), -0.5, 1.3) == 1


def test_count_outside() -> None:
    v = np.array([[-0.6, -0.5, 0.0, 1.3, 1.31, np.nan]], dtype=np.float32)
    assert burn.count_outside(v, -0.5, 1.3) == 2
    assert burn.count_outside(v.T, -0.5, 1.3) == 2  # any layout


def test_minimum_mapping_unit_crops_to_the_burned_box() -> None:
    """Patches far apart in a large map: the cropped labelling removes the same ones."""
    sev = np.full((500, 700), 3, np.uint8)
    sev[10:15, 10:15] = 5  # 25 px: kept at min 25
    sev[400:403, 600:603] = 6  # 9 px: removed
    sev[200, 300] = 7  # 1 px: removed
    sev[0, :] = 0
    out, info = burn.remove_small_patches(sev, 25)
    assert info == {"patches_kept": 1, "patches_removed": 2, "pixels_removed": 10}
    assert (out[10:15, 10:15] == 5).all() and out[400, 600] == 3 and out[200, 300] == 3
    assert (out[0] == 0).all()
    empty, info0 = burn.remove_small_patches(np.full((4, 4), 3, np.uint8), 25)
    assert info0["patches_kept"] == 0 and (empty == 3).all()


def test_shared_queue_runs_everything_and_keeps_errors() -> None:
    q = SharedQueue("test")
    names: list[str] = []

    def job(i: int) -> int:
        names.append(threading.current_thread().name)
        time.sleep(0.01)
        return i * i

    def boom() -> None:
        raise ValueError("disk full")

    futures = [q.submit(job, i) for i in range(6)]
    bad = q.submit(boom)
    q.help_and_wait()
    assert [f.result() for f in futures] == [i * i for i in range(6)]
    with pytest.raises(ValueError, match="disk full"):
        bad.result()
    assert "test" in names  # the helper thread ran some
    # a job submitted after the helper stopped starts a new one (or runs on help_and_wait)
    late = q.submit(job, 7)
    q.help_and_wait()
    assert late.result() == 49


def test_cog_from_the_array_buffer_equals_the_copied_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The zero-copy MEM source (DATAPOINTER) and the fallback copy write identical COGs."""
    from rasterio.transform import from_origin

    from rus.chains.burned_area import writers

    rng = np.random.default_rng(2)
    data = rng.normal(0, 0.3, (300, 260)).astype(np.float32)
    data[:10] = np.nan
    sev = rng.integers(0, 8, (300, 260)).astype(np.uint8)
    kw = {"transform": from_origin(5e5, 4.4e6, 20, 20), "crs": "EPSG:32629"}

    def write(folder: Path) -> list[bytes]:
        folder.mkdir()
        writers.write_float_cog(data, folder / "f.tif", description="x", tags={"u": 1}, **kw)
        writers.write_severity_cog(sev, folder / "s.tif", tags={"u": 1}, **kw)
        return [(folder / n).read_bytes() for n in ("f.tif", "s.tif")]

    direct = write(tmp_path / "direct")
    monkeypatch.setattr(writers, "_GDAL_TYPES", {})
    assert write(tmp_path / "copied") == direct
    with rasterio.open(tmp_path / "direct" / "f.tif") as ds:
        assert ds.crs.to_epsg() == 32629 and np.isnan(ds.nodata)
        np.testing.assert_array_equal(ds.read(1), data)
    with rasterio.open(tmp_path / "direct" / "s.tif") as ds:
        assert ds.colormap(1)[7][:3] == (0xA4, 0x1F, 0xD6)
