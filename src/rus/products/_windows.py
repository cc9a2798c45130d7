"""Windowed reads of the lazy raster readers, and decoding windows ahead of their dask task.

:func:`_read_window` is the function of every read task of :func:`rus.products._raster.lazy_band`
(it opens the file itself, so the threaded scheduler decodes windows in parallel with no lock).
:func:`prefetch_windows` starts decoding chosen windows on a side thread before the graph runs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np

from rus.products.errors import ProductError

__all__ = ["prefetch_windows"]

#: Windows decoded ahead of their dask task by :func:`prefetch_windows`: read arguments ->
#: future of the array. Guarded by ``_PREFETCH_LOCK``.
_PREFETCHED: dict[tuple[Any, ...], Future[np.ndarray[Any, Any]]] = {}
_PREFETCH_LOCK = threading.Lock()


@contextmanager
def prefetch_windows(windows: Sequence[tuple[Any, ...]]) -> Iterator[None]:
    """Decode ``windows`` (from :func:`band_windows`) on a side thread, starting now.

    While the block is active, a dask read task with the same arguments takes the decoded
    array instead of decoding it again (or decodes it itself when the side thread has not
    started on it yet). What a chain does before its dask graph runs (imports, metadata,
    graph building) holds the GIL on one core; decoding meanwhile (GDAL releases the GIL, and
    the side thread turns GDAL's decoder threads off) puts the other core to work. Windows not
    taken by the end of the block are dropped.
    """
    if not windows:
        yield
        return
    pool = ThreadPoolExecutor(1, thread_name_prefix="rus-prefetch")
    keys = [tuple(w) for w in windows]
    with _PREFETCH_LOCK:
        for key in keys:
            if key not in _PREFETCHED:
                _PREFETCHED[key] = pool.submit(_decode_single_threaded, *key)
    try:
        yield
    finally:
        with _PREFETCH_LOCK:
            for key in keys:
                fut = _PREFETCHED.pop(key, None)
                if fut is not None:
                    fut.cancel()
        pool.shutdown(wait=True)


def _decode_single_threaded(*key: Any) -> np.ndarray[Any, Any]:
    """:func:`_decode_window` with GDAL's own decoder threads off (a thread-local option):
    the side thread is meant to use the one idle core, not to compete for both."""
    import rasterio

    with rasterio.Env(GDAL_NUM_THREADS="1"):
        return _decode_window(*key)


def _take_prefetched(key: tuple[Any, ...]) -> Future[np.ndarray[Any, Any]] | None:
    with _PREFETCH_LOCK:
        fut = _PREFETCHED.pop(key, None) if _PREFETCHED else None
    if fut is None or fut.cancel():  # not started yet: cheaper to decode here than to wait
        return None
    return fut


def _read_window(
    path: str, bidx: int, row0: int, row1: int, col0: int, col1: int, dtype: str
) -> np.ndarray[Any, Any]:
    """Read one window (runs inside a dask task, in any thread); see :func:`prefetch_windows`."""
    fut = _take_prefetched((path, bidx, row0, row1, col0, col1, dtype))
    if fut is not None:
        return fut.result()
    return _decode_window(path, bidx, row0, row1, col0, col1, dtype)


def _decode_window(
    path: str, bidx: int, row0: int, row1: int, col0: int, col1: int, dtype: str
) -> np.ndarray[Any, Any]:
    """Open ``path`` and read one window."""
    import warnings

    import rasterio
    from rasterio.errors import NotGeoreferencedWarning
    from rasterio.windows import Window

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            ds_cm = rasterio.open(path)
        with ds_cm as ds:
            out = ds.read(bidx, window=Window(col0, row0, col1 - col0, row1 - row0))
    except Exception as exc:  # surfaced at compute time: name the file and window
        raise ProductError(
            f"{path}: cannot read band {bidx} window rows {row0}:{row1} cols {col0}:{col1} ({exc})"
        ) from exc
    return np.asarray(out, dtype=dtype)
