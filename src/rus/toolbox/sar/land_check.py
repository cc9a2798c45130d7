"""Exact land test of detections, the last guard of "no detection on land".

The land mask is kept per 4 x 4 pixel cell (:class:`~rus.toolbox.sar.masking.GridMask`), each
cell evaluated at its centre. An islet smaller than a cell (a GSHHG islet of 40 x 90 m in the
Venice lagoon, for instance) can fall between cell centres: the mask calls it sea, the CFAR flags
its bright return, and a "ship" lands on land. After clustering, every pixel and the centre of
each kept detection are therefore tested exactly (a few thousand points, milliseconds) against
the same land source, and detections that touch land are removed and reported.

:class:`GshhgLookup` keeps the GSHHG polygons (about 1.3 GB) loaded in one worker process for
the whole run when asked to, so that both the mask cells and the exact test are answered there
and the polygons are neither loaded twice nor held by the calling process.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

from rus.toolbox.errors import ToolboxError
from rus.toolbox.sar.masking import Predicate, ToLonLat, corner_lonlat


def _cells_worker(
    lon_g: npt.NDArray[np.float64], lat_g: npt.NDArray[np.float64], shape: tuple[int, int]
) -> npt.NDArray[np.bool_]:
    from rus.toolbox.sar.masking import _gshhg_cells_worker

    return _gshhg_cells_worker(lon_g, lat_g, shape)


def _exact_worker(
    lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]
) -> npt.NDArray[np.bool_]:
    from rus.products.landmask import is_land

    return is_land(lon, lat)


class GshhgLookup:
    """GSHHG land lookups for one run: grid cells, then exact point tests.

    Parameters
    ----------
    isolate
        Answer every lookup in one short-lived worker process (spawned on first use, ended by
        :meth:`close`): the 1.3 GB of GSHHG polygons are loaded there once and never count
        against the calling process. Otherwise the lookups run here.

    Examples
    --------
    >>> with GshhgLookup(isolate=True) as gshhg:  # doctest: +SKIP
    ...     cells = gshhg.cells(scene.to_lonlat, scene.shape)
    ...     on_land = gshhg.is_land(lon, lat)
    """

    def __init__(self, *, isolate: bool = False) -> None:
        self.isolate = isolate
        self._pool: Any = None

    def _call(self, fn: Any, *args: Any) -> npt.NDArray[np.bool_]:
        if not self.isolate:
            return np.asarray(fn(*args), dtype=bool)
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            ctx = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=ctx)
        return np.asarray(self._pool.submit(fn, *args).result(), dtype=bool)

    def cells(self, to_lonlat: ToLonLat, shape: tuple[int, int]) -> npt.NDArray[np.bool_]:
        """Land cells of an image grid (see :func:`rus.toolbox.sar.masking.gshhg_cells`)."""
        lon_g, lat_g = corner_lonlat(to_lonlat, shape)
        return self._call(_cells_worker, lon_g, lat_g, shape)

    def is_land(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Exact GSHHG (full resolution polygons) test of points, True on land."""
        lo = np.asarray(lon, dtype=np.float64)
        la = np.asarray(lat, dtype=np.float64)
        if lo.shape != la.shape:
            raise ToolboxError(f"land test: lon {lo.shape} and lat {la.shape} differ in shape")
        if lo.size == 0:
            return np.zeros(lo.shape, dtype=bool)
        return self._call(_exact_worker, lo, la).reshape(lo.shape)

    def close(self) -> None:
        """End the worker process (if any); later lookups start a new one."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self) -> GshhgLookup:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def detections_on_land(
    rows: npt.NDArray[np.int64],
    cols: npt.NDArray[np.int64],
    owner: npt.NDArray[np.int64],
    centre_rows: npt.NDArray[np.float64],
    centre_cols: npt.NDArray[np.float64],
    to_lonlat: ToLonLat,
    land: Predicate,
) -> npt.NDArray[np.bool_]:
    """Which detections have their centre or any of their pixels on land (exact test).

    Parameters
    ----------
    rows, cols
        Image positions of the detections' pixels.
    owner
        Detection index (``0 .. n-1``) of each pixel.
    centre_rows, centre_cols
        Centre of each of the ``n`` detections (the reported position), in pixels.
    to_lonlat
        ``(rows, cols) -> (lon, lat)`` of the image.
    land
        ``(lon, lat) -> bool``, True on land (e.g. :meth:`GshhgLookup.is_land`).

    Returns
    -------
    numpy.ndarray of bool, one per detection: True = touches land.
    """
    n = int(np.asarray(centre_rows).size)
    own = np.asarray(owner, dtype=np.int64)
    if own.size != np.asarray(rows).size or own.size != np.asarray(cols).size:
        raise ToolboxError("land test: rows, cols and owner need one value per pixel")
    if own.size and (own.min() < 0 or own.max() >= n):
        raise ToolboxError(f"land test: pixel owners must lie in 0..{n - 1}")
    if n == 0:
        return np.zeros(0, dtype=bool)
    r = np.concatenate([np.asarray(rows, np.float64), np.asarray(centre_rows, np.float64)])
    c = np.concatenate([np.asarray(cols, np.float64), np.asarray(centre_cols, np.float64)])
    lon, lat = to_lonlat(r, c)
    hit = np.asarray(land(np.asarray(lon, np.float64), np.asarray(lat, np.float64)), dtype=bool)
    out = hit[own.size :].copy()
    out[np.unique(own[hit[: own.size]])] = True
    return out
