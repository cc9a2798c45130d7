"""Offline global land/sea mask (GSHHG full resolution, via ``roaring-landmask``).

The mask is a data product in its own right (like a DEM), so it lives with the readers. Loading it
takes a few seconds once per process; lookups are ~1 M points per second per core.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from rus.products.errors import ProductError


@lru_cache(maxsize=1)
def _landmask() -> Any:
    try:
        from roaring_landmask import RoaringLandmask
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise ProductError("the offline land mask needs the roaring-landmask package") from exc
    return RoaringLandmask.new()


def is_loaded() -> bool:
    """True once the GSHHG polygons are loaded in this process (~1.3 GB, a few seconds)."""
    return _landmask.cache_info().currsize > 0


def coarse_raster() -> Any:
    """roaring-landmask's 15 arc-second raster that covers all GSHHG land.

    It never says sea where the shoreline polygons say land, so it answers most points without
    the exact polygon test (``.contains_many(lon, lat)``, cell size ``.dx`` degrees).
    """
    return _landmask().mask


def is_land(lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """True where (lon, lat) in degrees lies on land (GSHHG full resolution shoreline).

    Parameters
    ----------
    lon, lat
        Longitudes and latitudes (WGS84 degrees), any matching shapes.

    Returns
    -------
    numpy.ndarray of bool with the broadcast shape of the inputs.
    """
    lon_a, lat_a = np.broadcast_arrays(np.asarray(lon, np.float64), np.asarray(lat, np.float64))
    shape = lon_a.shape
    flat_lon = np.ascontiguousarray(lon_a.ravel())
    flat_lat = np.ascontiguousarray(lat_a.ravel())
    if flat_lon.size == 0:
        return np.zeros(shape, dtype=bool)
    flat_lon = ((flat_lon + 180.0) % 360.0) - 180.0
    flat_lat = np.clip(flat_lat, -90.0, 90.0)
    mask = _landmask()
    out = (
        mask.contains_many_par(flat_lon, flat_lat)
        if flat_lon.size > 100_000
        else (mask.contains_many(flat_lon, flat_lat))
    )
    return np.asarray(out, dtype=bool).reshape(shape)


def gshhg_polygons(west: float, south: float, east: float, north: float) -> Any:
    """GSHHG land polygons (full resolution) clipped to a lon/lat box, as a shapely MultiPolygon.

    Reads roaring-landmask's own copy of the polygons as WKB (about 150 MB, 2 s and 0.6 GB of
    memory while it runs) without building its 1.3 GB lookup structure, keeps the polygons that
    meet the box and clips them to it. ``shapely.contains_xy`` on the result answers like
    :func:`is_land` for points inside the box (a scene's box holds some 10^4 vertices).

    Parameters
    ----------
    west, south, east, north
        The box in WGS84 degrees (``-180 <= west < east <= 180``, ``south < north``).
    """
    import shapely

    if not (-180.0 <= west < east <= 180.0 and -90.0 <= south < north <= 90.0):
        raise ProductError(
            f"GSHHG clip box must have -180 <= west < east <= 180 and south < north, "
            f"got {west}, {south}, {east}, {north}"
        )
    try:
        from roaring_landmask import LandmaskProvider, Shapes
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise ProductError("the offline land mask needs the roaring-landmask package") from exc
    parts = shapely.get_parts(shapely.from_wkb(Shapes.wkb(LandmaskProvider.Gshhg)))
    hit = parts[shapely.STRtree(parts).query(shapely.box(west, south, east, north))]
    clipped = shapely.get_parts(shapely.clip_by_rect(hit, west, south, east, north))
    polys = clipped[shapely.get_type_id(clipped) == 3]  # 3: Polygon
    return shapely.multipolygons(polys)
