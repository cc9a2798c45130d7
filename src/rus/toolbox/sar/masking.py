"""Land masks for SAR detection: shoreline buffer, user vector/raster masks, distance to coast.

Masks are boolean numpy arrays on the image grid, True where the pixel must be excluded (land).
A mask becomes no-data (NaN) in the intensity with :func:`apply_mask`, which is what the CFAR
excludes from its statistics.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from rus.toolbox.errors import ToolboxError

ToLonLat = Callable[
    [npt.NDArray[np.float64], npt.NDArray[np.float64]],
    tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]],
]
Predicate = Callable[[npt.NDArray[np.float64], npt.NDArray[np.float64]], npt.NDArray[np.bool_]]


def _dilate_kernel() -> Any:
    from rus.toolbox.sar import _kernels

    return _kernels.dilate_edges


def buffer_mask(
    mask: npt.NDArray[np.bool_], radius_m: float, spacing: tuple[float, float]
) -> npt.NDArray[np.bool_]:
    """Grow a mask by a disc of ``radius_m`` metres (the shoreline buffer).

    Only the mask's edge pixels are stamped with the disc (the nearest masked pixel to any
    unmasked one is always an edge pixel), so the cost follows the coastline length, not the area.

    Parameters
    ----------
    mask
        2-D bool, True on land.
    radius_m
        Buffer distance in metres (0 returns a copy).
    spacing
        ``(azimuth, range)`` pixel spacing in metres (rows, columns).

    Returns
    -------
    numpy.ndarray of bool, the buffered mask.
    """
    if radius_m < 0 or not math.isfinite(radius_m):
        raise ToolboxError(f"shoreline buffer must be >= 0 metres, got {radius_m}")
    out = np.array(mask, dtype=bool, copy=True)
    if radius_m == 0 or not out.any() or out.all():
        return out
    ry, rx = int(radius_m // spacing[0]), int(radius_m // spacing[1])
    yy, xx = np.mgrid[-ry : ry + 1, -rx : rx + 1]
    inside = (yy * spacing[0]) ** 2 + (xx * spacing[1]) ** 2 <= radius_m**2
    _dilate_kernel()(
        np.ascontiguousarray(mask, dtype=bool),
        yy[inside].astype(np.int64),
        xx[inside].astype(np.int64),
        out,
    )
    return out


def apply_mask(intensity: Any, mask: Any) -> Any:
    """Set masked pixels to NaN (no-data) in an intensity DataArray, lazily.

    Parameters
    ----------
    intensity
        2-D :class:`xarray.DataArray` (numpy or dask backed).
    mask
        2-D bool array of the same shape (numpy or dask), True where excluded.

    Returns
    -------
    xarray.DataArray with the same attributes.
    """
    import dask.array as _da

    da: Any = _da
    import xarray as xr

    if tuple(mask.shape) != tuple(intensity.shape):
        raise ToolboxError(
            f"land mask shape {tuple(mask.shape)} does not match the image {tuple(intensity.shape)}"
        )
    data = intensity.data
    if isinstance(data, da.Array):
        m = mask if isinstance(mask, da.Array) else da.from_array(mask, chunks=data.chunks)
        masked = da.where(m, np.float32(np.nan), data)
    else:
        masked = np.where(np.asarray(mask), np.float32(np.nan), data)
    out: xr.DataArray = intensity.copy(data=masked)
    return out


def grid_cells(
    predicate: Predicate,
    to_lonlat: ToLonLat,
    shape: tuple[int, int],
    *,
    step: int = 16,
    fine: int = 4,
    refine: Predicate | None = None,
) -> npt.NDArray[np.bool_]:
    """Evaluate a lon/lat predicate on ``fine`` x ``fine`` pixel cells of an image grid.

    The predicate is evaluated at the centre and the corners of every ``step`` x ``step`` cell;
    cells where they disagree (an edge such as the coastline passes through), and their
    neighbours, are re-evaluated at the centre of every ``fine`` x ``fine`` sub-cell. The result
    is exact away from edges and within ``fine / 2`` pixels of the true edge elsewhere (20 m
    for 4 pixels of 10 m, well inside the usual shoreline buffer), at a cost of about
    ``1/step^2`` of a per-pixel evaluation plus the coastline.

    Parameters
    ----------
    predicate
        ``(lon, lat) -> bool array`` (e.g. GSHHG land, inside a user's polygons).
    to_lonlat
        ``(rows, cols) -> (lon, lat)`` of the grid.
    shape
        ``(rows, cols)``.
    step, fine
        Coarse and fine cell sizes in pixels (``step`` is rounded to a multiple of ``fine``).
    refine
        Optional ``(lon, lat) -> bool``: cells where it holds at any sample are refined too
        (e.g. "near a coast" from a coarse conservative mask, so that islets smaller than a
        cell are not missed).

    Returns
    -------
    numpy.ndarray of bool, one value per ``fine`` x ``fine`` cell (``ceil(shape / step) *
    step / fine`` cells per axis).
    """
    lon_g, lat_g = corner_lonlat(to_lonlat, shape, step=step, fine=fine)
    return cells_from_corners(predicate, lon_g, lat_g, shape, step=step, fine=fine, refine=refine)


def _steps(shape: tuple[int, int], step: int, fine: int) -> tuple[int, int, int, int, int]:
    rows, cols = shape
    if rows <= 0 or cols <= 0:
        raise ToolboxError(f"mask: empty grid shape {shape}")
    fine = max(1, int(fine))
    step = max(fine, (int(step) // fine) * fine)
    return step, fine, step // fine, -(-rows // step), -(-cols // step)


def corner_lonlat(
    to_lonlat: ToLonLat, shape: tuple[int, int], *, step: int = 16, fine: int = 4
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Lon/lat at the corners of the ``step`` x ``step`` cells of :func:`grid_cells`.

    Geolocation is smooth over a cell: it is evaluated at the corners only and interpolated
    bilinearly elsewhere (sub-metre error for a GCP-grid geolocation over 160 m cells).
    """
    step, fine, _, nr, nc = _steps(shape, step, fine)
    corner_r = (np.arange(nr + 1) * step).astype(np.float64)
    corner_c = (np.arange(nc + 1) * step).astype(np.float64)
    lon_g, lat_g = to_lonlat(*np.meshgrid(corner_r, corner_c, indexing="ij"))
    return np.asarray(lon_g, np.float64), np.asarray(lat_g, np.float64)


def cells_from_corners(
    predicate: Predicate,
    lon_g: npt.NDArray[np.float64],
    lat_g: npt.NDArray[np.float64],
    shape: tuple[int, int],
    *,
    step: int = 16,
    fine: int = 4,
    refine: Predicate | None = None,
) -> npt.NDArray[np.bool_]:
    """:func:`grid_cells` from the corner lon/lat of :func:`corner_lonlat` (picklable inputs)."""
    rows, cols = shape
    step, fine, k, nr, nc = _steps(shape, step, fine)

    def centres(idx: npt.NDArray[np.int64], size: int, limit: int) -> npt.NDArray[np.float64]:
        return np.minimum(idx * size + size // 2, limit - 1).astype(np.float64)

    def interp(
        r: npt.NDArray[np.float64], c: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        fr, fc = r / step, c / step
        i = np.clip(np.floor(fr).astype(np.int64), 0, nr - 1)
        j = np.clip(np.floor(fc).astype(np.int64), 0, nc - 1)
        u, v = fr - i, fc - j
        out = []
        for g in (lon_g, lat_g):
            top = g[i, j] * (1 - v) + g[i, j + 1] * v
            bottom = g[i + 1, j] * (1 - v) + g[i + 1, j + 1] * v
            out.append(top * (1 - u) + bottom * u)
        return out[0], out[1]

    # A cell is "mixed" when its corners or its centre disagree; mixed cells grow by one cell so
    # that thin features between samples are refined too.
    corners = np.asarray(predicate(lon_g, lat_g), dtype=bool)
    rr, cg = np.meshgrid(
        centres(np.arange(nr), step, rows), centres(np.arange(nc), step, cols), indexing="ij"
    )
    coarse = np.asarray(predicate(*interp(rr, cg)), dtype=bool)
    quad = (corners[:-1, :-1], corners[1:, :-1], corners[:-1, 1:], corners[1:, 1:])
    differ = np.zeros_like(coarse)
    for q in quad:
        differ |= q != coarse
    if refine is not None:
        near = np.asarray(refine(lon_g, lat_g), dtype=bool)
        differ |= np.asarray(refine(*interp(rr, cg)), dtype=bool)
        for q in (near[:-1, :-1], near[1:, :-1], near[:-1, 1:], near[1:, 1:]):
            differ |= q
    pad = np.pad(differ, 1)
    mixed = np.zeros_like(coarse)
    for a in (-1, 0, 1):
        for b in (-1, 0, 1):
            mixed |= pad[1 + a : 1 + a + nr, 1 + b : 1 + b + nc]
    cells = np.repeat(np.repeat(coarse, k, axis=0), k, axis=1)
    cr, cc = np.nonzero(mixed)
    if cr.size:
        sub = np.arange(k)
        fr = (cr[:, None, None] * k + sub[None, :, None] + 0 * sub[None, None, :]).ravel()
        fc = (cc[:, None, None] * k + sub[None, None, :] + 0 * sub[None, :, None]).ravel()
        lon, lat = interp(centres(fr, fine, rows), centres(fc, fine, cols))
        cells[fr, fc] = np.asarray(predicate(lon, lat), dtype=bool)
    return np.ascontiguousarray(cells)


@dataclass(frozen=True)
class GridMask:
    """A land mask kept per ``fine`` x ``fine`` pixel cell, expanded per block on demand.

    The full-resolution mask of a scene (431 M pixels for IW GRDH) is never held whole: each
    processing block asks for its window with :meth:`block`, which upsamples the cells and applies
    the shoreline buffer with a halo, so the result does not depend on the block layout.

    Attributes
    ----------
    cells
        Bool per cell, True on land.
    fine
        Cell size in pixels.
    shape
        Image ``(rows, cols)``.
    spacing
        ``(azimuth, range)`` pixel spacing in metres.
    buffer_m
        Shoreline buffer in metres.
    """

    cells: npt.NDArray[np.bool_]
    fine: int
    shape: tuple[int, int]
    spacing: tuple[float, float]
    buffer_m: float = 0.0

    def any(self) -> bool:
        """True if any pixel is land (before the buffer)."""
        return bool(self.cells.any())

    def all(self) -> bool:
        """True if every pixel is land (before the buffer)."""
        rows, cols = self.shape
        f = self.fine
        return bool(self.cells[: -(-rows // f), : -(-cols // f)].all())

    def _raw(self, r0: int, r1: int, c0: int, c1: int) -> npt.NDArray[np.bool_]:
        f = self.fine
        cr = np.arange(r0, r1) // f
        cc = np.arange(c0, c1) // f
        return np.ascontiguousarray(self.cells[cr[:, None], cc[None, :]])

    def block(self, r0: int, r1: int, c0: int, c1: int) -> npt.NDArray[np.bool_]:
        """Full-resolution buffered mask of rows ``r0:r1`` and columns ``c0:c1``.

        Parts of the window outside the image are True (excluded).
        """
        rows, cols = self.shape
        ry = int(self.buffer_m // self.spacing[0])
        rx = int(self.buffer_m // self.spacing[1])
        a0, a1 = max(r0 - ry, 0), min(r1 + ry, rows)
        b0, b1 = max(c0 - rx, 0), min(c1 + rx, cols)
        out = np.ones((r1 - r0, c1 - c0), dtype=bool)
        if a0 >= a1 or b0 >= b1:
            return out
        raw = self._raw(a0, a1, b0, b1)
        if self.buffer_m > 0:
            raw = buffer_mask(raw, self.buffer_m, self.spacing)
        i0, i1 = max(r0, 0), min(r1, rows)
        j0, j1 = max(c0, 0), min(c1, cols)
        if i0 < i1 and j0 < j1:
            out[i0 - r0 : i1 - r0, j0 - c0 : j1 - c0] = raw[i0 - a0 : i1 - a0, j0 - b0 : j1 - b0]
        return out

    def full(self) -> npt.NDArray[np.bool_]:
        """The whole buffered mask at full resolution (small images only)."""
        return self.block(0, self.shape[0], 0, self.shape[1])

    def decimated(self, step: int) -> npt.NDArray[np.bool_]:
        """Every ``step``-th line and pixel of the mask, buffered at that scale (for display)."""
        rows, cols = self.shape
        f = self.fine
        sub = self.cells[(np.arange(0, rows, step) // f)[:, None], (np.arange(0, cols, step) // f)]
        if self.buffer_m > 0:
            sub = buffer_mask(sub, self.buffer_m, (self.spacing[0] * step, self.spacing[1] * step))
        return sub

    def distance_m(self, rows: npt.ArrayLike, cols: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Distance (m) from image positions to the nearest land cell (no buffer; NaN: no land).

        Uses a Euclidean distance transform of the cells decimated to about 8 pixels, so it is
        accurate to about 4 pixels; land outside the image is not seen.
        """
        from scipy.ndimage import distance_transform_edt

        r = np.atleast_1d(np.asarray(rows, dtype=np.float64))
        c = np.atleast_1d(np.asarray(cols, dtype=np.float64))
        if r.size == 0:
            return np.zeros(0, dtype=np.float64)
        k = max(1, 8 // self.fine)
        coarse = self.cells[::k, ::k]
        if not coarse.any():
            return np.full(r.shape, np.nan)
        px = self.fine * k
        dist = distance_transform_edt(
            ~coarse, sampling=(self.spacing[0] * px, self.spacing[1] * px)
        )
        ri = np.clip(np.floor(r / px).astype(np.int64), 0, coarse.shape[0] - 1)
        ci = np.clip(np.floor(c / px).astype(np.int64), 0, coarse.shape[1] - 1)
        return np.asarray(dist[ri, ci], dtype=np.float64)


def mask_for_grid(
    predicate: Predicate,
    to_lonlat: ToLonLat,
    shape: tuple[int, int],
    *,
    step: int = 16,
    fine: int = 4,
) -> npt.NDArray[np.bool_]:
    """Full-resolution mask of :func:`grid_cells` (True where the predicate holds)."""
    cells = grid_cells(predicate, to_lonlat, shape, step=step, fine=fine)
    return GridMask(cells, fine, shape, (1.0, 1.0)).full()


def _raster_classes(
    lo: npt.NDArray[np.float64], la: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """(raster land, raster land with raster land one cell away in the 4 directions)."""
    from rus.products.landmask import coarse_raster

    raster = coarse_raster()
    d = float(raster.dx)
    land = np.asarray(raster.contains_many(lo, la), dtype=bool)
    inland = land.copy()
    for dlon, dlat in ((d, 0.0), (-d, 0.0), (0.0, d), (0.0, -d)):
        idx = np.nonzero(inland)[0]
        if idx.size == 0:
            break
        ok = np.asarray(
            raster.contains_many(
                np.ascontiguousarray(lo[idx] + dlon),
                np.ascontiguousarray(np.clip(la[idx] + dlat, -90, 90)),
            ),
            dtype=bool,
        )
        inland[idx[~ok]] = False
    return land, inland


def _flat(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[Any, Any, tuple[int, ...]]:
    lo = np.ascontiguousarray(np.asarray(lon, np.float64).ravel())
    la = np.ascontiguousarray(np.asarray(lat, np.float64).ravel())
    return lo, la, np.shape(lon)


def gshhg_is_land(lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """GSHHG land test, fast where the answer is clear from roaring-landmask's raster.

    roaring-landmask keeps a 15 arc-second raster that covers all GSHHG land (it never says sea
    where the shoreline polygons say land). Points the raster calls sea are sea; points the
    raster calls land with raster land all around (one raster cell away in the 4 directions)
    are land; only the rest, near the coast, go to the exact polygon test. Channels and inlets
    narrower than a raster cell (~460 m) inside raster land are therefore called land.
    """
    from rus.products.landmask import is_land

    lo, la, shape = _flat(lon, lat)
    if lo.size == 0:
        return np.zeros(shape, dtype=bool)
    land, inland = _raster_classes(lo, la)
    coast = land & ~inland
    if coast.any():
        land[coast] = is_land(lo[coast], la[coast])
    return land.reshape(shape)


def gshhg_near_coast(lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """True where roaring-landmask's raster says land but not deep inland (the coastal band)."""
    lo, la, shape = _flat(lon, lat)
    if lo.size == 0:
        return np.zeros(shape, dtype=bool)
    land, inland = _raster_classes(lo, la)
    return (land & ~inland).reshape(shape)


def _gshhg_cells_worker(
    lon_g: npt.NDArray[np.float64], lat_g: npt.NDArray[np.float64], shape: tuple[int, int]
) -> npt.NDArray[np.bool_]:
    return cells_from_corners(gshhg_is_land, lon_g, lat_g, shape, refine=gshhg_near_coast)


def gshhg_cells(
    to_lonlat: ToLonLat, shape: tuple[int, int], *, isolate: bool = False
) -> npt.NDArray[np.bool_]:
    """Offline GSHHG (full resolution) land cells of an image grid (see :func:`grid_cells`).

    Parameters
    ----------
    to_lonlat
        ``(rows, cols) -> (lon, lat)`` of the grid.
    shape
        ``(rows, cols)``.
    isolate
        Run the lookup in a short-lived worker process: the GSHHG polygons take about 1.3 GB of
        memory once loaded, which then never counts against this process.
    """
    from rus.toolbox.sar.land_check import GshhgLookup

    return GshhgLookup(isolate=isolate, exact=False).cells(to_lonlat, shape)


def vector_predicate(path: Path) -> Predicate:
    """``(lon, lat) -> inside`` for the polygons of a vector file (any OGR format).

    Parameters
    ----------
    path
        GeoPackage, GeoJSON, Shapefile... of land polygons (any CRS; reprojected to EPSG:4326).
    """
    import geopandas as gpd
    import shapely

    try:
        gdf = gpd.read_file(path)
    except Exception as exc:
        raise ToolboxError(f"cannot read the land-mask vector file {path}: {exc}") from exc
    if gdf.crs is not None:
        gdf = gdf.to_crs(4326)
    polys = [
        g for g in gdf.geometry if g is not None and g.geom_type in ("Polygon", "MultiPolygon")
    ]
    if not polys:
        raise ToolboxError(f"the land-mask vector file {path} holds no polygons")
    geom = shapely.union_all(polys)
    shapely.prepare(geom)

    def inside(lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        return np.asarray(shapely.contains_xy(geom, lon, lat), dtype=bool)

    return inside


def raster_predicate(path: Path) -> Predicate:
    """``(lon, lat) -> nonzero`` for a single-band raster mask (nearest pixel; outside = False).

    Parameters
    ----------
    path
        GeoTIFF (or any GDAL raster) whose non-zero pixels are land.
    """
    import rasterio
    from pyproj import Transformer

    try:
        with rasterio.open(path) as src:
            data = src.read(1)
            transform = src.transform
            crs = src.crs
    except Exception as exc:
        raise ToolboxError(f"cannot read the land-mask raster {path}: {exc}") from exc
    if crs is None:
        raise ToolboxError(f"the land-mask raster {path} has no coordinate reference system")
    to_crs = Transformer.from_crs(4326, crs, always_xy=True)
    inv = ~transform
    land = data != 0

    def inside(lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        x, y = to_crs.transform(lon, lat)
        c, r = inv * (np.asarray(x), np.asarray(y))
        ri = np.floor(np.asarray(r)).astype(np.int64)
        ci = np.floor(np.asarray(c)).astype(np.int64)
        ok = (ri >= 0) & (ri < land.shape[0]) & (ci >= 0) & (ci < land.shape[1])
        out = np.zeros(np.shape(lon), dtype=bool)
        out[ok] = land[ri[ok], ci[ok]]
        return out

    return inside


def user_cells(path: Path, to_lonlat: ToLonLat, shape: tuple[int, int]) -> npt.NDArray[np.bool_]:
    """Land cells of the image grid from a user's vector polygons or raster (non-zero = land).

    Parameters
    ----------
    path
        Vector file (``.gpkg``, ``.geojson``, ``.shp``, ``.json``, ``.kml``) or raster.
    to_lonlat
        ``(rows, cols) -> (lon, lat)`` of the image grid.
    shape
        ``(rows, cols)``.
    """
    return grid_cells(user_predicate(path), to_lonlat, shape)


def user_predicate(path: Path) -> Predicate:
    """``(lon, lat) -> land`` of a user's vector polygons or raster (non-zero = land).

    Parameters
    ----------
    path
        Vector file (``.gpkg``, ``.geojson``, ``.shp``, ``.json``, ``.kml``) or raster.
    """
    path = Path(path)
    if not path.exists():
        raise ToolboxError(f"land-mask file {path} does not exist")
    vector_ext = {".gpkg", ".geojson", ".json", ".shp", ".kml", ".fgb", ".gml"}
    return vector_predicate(path) if path.suffix.lower() in vector_ext else raster_predicate(path)
