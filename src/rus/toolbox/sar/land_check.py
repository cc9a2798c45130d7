"""Exact land test of detections, the last guard of "no detection on land".

The land mask is kept per 4 x 4 pixel cell (:class:`~rus.toolbox.sar.masking.GridMask`), each
cell evaluated at its centre. An islet smaller than a cell (a GSHHG islet of 40 x 90 m in the
Venice lagoon, for instance) can fall between cell centres: the mask calls it sea, the CFAR flags
its bright return, and a "ship" lands on land. After clustering, every pixel and the centre of
each kept detection are therefore tested exactly (a few thousand points, milliseconds) against
the same land source, and detections that touch land are removed and reported.

:class:`GshhgLookup` gives the mask cells and that exact test. On big scenes it computes the
cells in a worker process (the 1.3 GB GSHHG lookup structure never enters the calling process)
and, at the same time in a second worker, the GSHHG polygons clipped to the scene (some 10^4
vertices), which then answer the exact test here with shapely, after both workers have ended.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from rus.toolbox.errors import ToolboxError
from rus.toolbox.sar.masking import Predicate, ToLonLat, corner_lonlat

Box = tuple[float, float, float, float]

#: Margin (degrees) added around a scene's box before clipping the GSHHG polygons.
CLIP_MARGIN_DEG = 0.02


def _cells_worker(
    lon_g: npt.NDArray[np.float64], lat_g: npt.NDArray[np.float64], shape: tuple[int, int]
) -> npt.NDArray[np.bool_]:
    from rus.toolbox.sar.masking import _gshhg_cells_worker

    return _gshhg_cells_worker(lon_g, lat_g, shape)


def _clip_worker(boxes: list[Box]) -> Any:
    import shapely

    from rus.products.landmask import gshhg_polygons

    parts = [shapely.get_parts(gshhg_polygons(*b)) for b in boxes]
    return shapely.multipolygons(np.concatenate(parts))


def scene_boxes(
    lon: npt.ArrayLike, lat: npt.ArrayLike, margin: float = CLIP_MARGIN_DEG
) -> list[Box]:
    """Lon/lat boxes ``(west, south, east, north)`` that cover the points, split at 180 degrees.

    Parameters
    ----------
    lon, lat
        Points of the scene (e.g. its cell corners), degrees.
    margin
        Degrees added on every side.
    """
    lo = ((np.asarray(lon, np.float64).ravel() + 180.0) % 360.0) - 180.0
    la = np.asarray(lat, np.float64).ravel()
    if lo.size == 0 or not (np.isfinite(lo).all() and np.isfinite(la).all()):
        raise ToolboxError("land test: the scene's corners are empty or not finite")
    s = max(float(la.min()) - margin, -90.0)
    n = min(float(la.max()) + margin, 90.0)
    if float(lo.max() - lo.min()) <= 180.0:
        return [(max(float(lo.min()) - margin, -180.0), s, min(float(lo.max()) + margin, 180.0), n)]
    east_part, west_part = lo[lo >= 0], lo[lo < 0]  # the scene crosses the antimeridian
    return [
        (max(float(east_part.min()) - margin, 0.0), s, 180.0, n),
        (-180.0, s, min(float(west_part.max()) + margin, 0.0), n),
    ]


class ClippedLand:
    """Exact ``(lon, lat) -> land`` from GSHHG polygons clipped to a few boxes.

    Parameters
    ----------
    geometry
        shapely (Multi)Polygon of the land inside ``boxes``.
    boxes
        The clip boxes; points outside them are an error (the polygons there are unknown).
    """

    def __init__(self, geometry: Any, boxes: list[Box]) -> None:
        import shapely

        self.geometry = geometry
        self.boxes = list(boxes)
        shapely.prepare(self.geometry)

    def __call__(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        import shapely

        lo = ((np.asarray(lon, np.float64) + 180.0) % 360.0) - 180.0
        la = np.asarray(lat, np.float64)
        inside = np.zeros(lo.shape, dtype=bool)
        for w, s, e, n in self.boxes:
            inside |= (lo >= w) & (lo <= e) & (la >= s) & (la <= n)
        if not inside.all():
            raise ToolboxError(
                f"land test: {int((~inside).sum())} point(s) lie outside the area whose GSHHG "
                "polygons were loaded"
            )
        return np.asarray(shapely.contains_xy(self.geometry, lo, la), dtype=bool)


class GshhgLookup:
    """GSHHG land for one scene: the mask cells, then an exact point test.

    Parameters
    ----------
    isolate
        Compute the cells in a worker process, and the polygons clipped to the scene for the
        exact test in a second one at the same time; both end before :meth:`cells` returns,
        so the 1.3 GB lookup structure never counts against the calling process. Otherwise
        everything runs here with :func:`rus.products.landmask.is_land`.
    exact
        Prepare the exact test (with ``isolate``: the clipped polygons).

    Examples
    --------
    >>> gshhg = GshhgLookup(isolate=True)  # doctest: +SKIP
    >>> cells = gshhg.cells(scene.to_lonlat, scene.shape)
    >>> on_land = gshhg.is_land(lon, lat)
    """

    def __init__(self, *, isolate: bool = False, exact: bool = True) -> None:
        self.isolate = isolate
        self.exact = exact
        self.clipped: ClippedLand | None = None

    def cells(self, to_lonlat: ToLonLat, shape: tuple[int, int]) -> npt.NDArray[np.bool_]:
        """Land cells of an image grid (see :func:`rus.toolbox.sar.masking.gshhg_cells`)."""
        lon_g, lat_g = corner_lonlat(to_lonlat, shape)
        if not self.isolate:
            return np.asarray(_cells_worker(lon_g, lat_g, shape), dtype=bool)
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        boxes = scene_boxes(lon_g, lat_g)
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=2 if self.exact else 1, mp_context=ctx) as pool:
            fut_cells = pool.submit(_cells_worker, lon_g, lat_g, shape)
            fut_clip = pool.submit(_clip_worker, boxes) if self.exact else None
            cells = np.asarray(fut_cells.result(), dtype=bool)
            if fut_clip is not None:
                self.clipped = ClippedLand(fut_clip.result(), boxes)
        return cells

    def is_land(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Exact GSHHG (full resolution polygons) test of points, True on land."""
        lo = np.asarray(lon, dtype=np.float64)
        la = np.asarray(lat, dtype=np.float64)
        if lo.shape != la.shape:
            raise ToolboxError(f"land test: lon {lo.shape} and lat {la.shape} differ in shape")
        if lo.size == 0:
            return np.zeros(lo.shape, dtype=bool)
        if self.clipped is not None:
            return self.clipped(lo, la)
        if self.isolate:
            raise ToolboxError("land test: call cells() first (the polygons are not loaded)")
        from rus.products.landmask import is_land

        return is_land(lo, la)


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
