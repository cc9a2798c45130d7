"""Decoding windows ahead of their dask task (rus.products._windows.prefetch_windows)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from rus.products import _windows
from rus.products._raster import band_windows, open_band_file
from rus.products._windows import prefetch_windows
from rus.products.errors import ProductError


@pytest.fixture()
def tif(tmp_path: Path) -> Path:
    path = tmp_path / "b.tif"
    data = np.arange(600 * 500, dtype=np.uint16).reshape(600, 500)
    with rasterio.open(
        path, "w", driver="GTiff", width=500, height=600, count=1, dtype="uint16",
        crs="EPSG:32629", transform=from_origin(5e5, 4.4e6, 20, 20), tiled=True,
        blockxsize=256, blockysize=256,
    ) as ds:  # fmt: skip
        ds.write(data, 1)
    return path


def test_prefetched_windows_are_decoded_once_and_identical(
    tif: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bf = open_band_file(str(tif))
    windows = band_windows(bf, (256, 256))
    assert len(windows) == 6 and windows[0][2:6] == (0, 256, 0, 256)
    expected = [_windows._decode_window(*w) for w in windows]
    calls: list[tuple[Any, ...]] = []
    threads: set[str] = set()
    real = _windows._decode_window

    def counting(*key: Any) -> np.ndarray:
        calls.append(key)
        threads.add(threading.current_thread().name)
        return real(*key)

    monkeypatch.setattr(_windows, "_decode_window", counting)
    with prefetch_windows(windows[:2]):
        # wait for the side thread: then the reads take its arrays
        for key in windows[:2]:
            _windows._PREFETCHED[key].result()
        got = [_windows._read_window(*w) for w in windows]
        assert not _windows._PREFETCHED  # taken, not kept
    assert all(np.array_equal(a, b) for a, b in zip(got, expected, strict=True))
    assert sorted(calls) == sorted(windows)  # every window decoded exactly once
    assert any(t.startswith("rus-prefetch") for t in threads)


def test_unused_prefetches_are_dropped_and_errors_surface(tif: Path) -> None:
    bf = open_band_file(str(tif))
    windows = band_windows(bf, (256, 256))
    with prefetch_windows(windows):
        pass
    assert not _windows._PREFETCHED
    bad = (str(tif.with_name("missing.tif")), 1, 0, 10, 0, 10, "uint16")
    with prefetch_windows([bad]):
        _windows._PREFETCHED[bad].exception()  # let it fail on the side thread
        with pytest.raises(ProductError, match=r"missing\.tif"):
            _windows._read_window(*bad)
