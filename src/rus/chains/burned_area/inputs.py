"""Inputs of the burned-area chain: opening products, band roles, grids and reprojection.

Band roles: the chain needs a NIR and a SWIR-2 reflectance per date and, optionally, an SCL.

- Sentinel-2 (SAFE dir/zip, STAC Item): NIR = B8A (20 m, default) or B08 (10 m), SWIR-2 = B12,
  SCL when the product has one (L2A).
- Landsat 8/9 (``*_MTL.txt``): NIR = B5, SWIR-2 = B7 (reflectance from the MTL rescaling).
- Generic rasters: bands named ``nir`` and ``swir2`` (see ``open_geotiff(bands=...)``), or any
  names given with ``BurnParams(nir=..., swir2=...)``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rus.chains.burned_area.params import BurnParams
from rus.chains.errors import ChainError
from rus.products.errors import ProductError

if TYPE_CHECKING:
    import xarray as xr

    from rus.products._raster import RasterProduct


@dataclass(frozen=True)
class DateBands:
    """The lazy bands of one date on one grid."""

    label: str
    source: str
    product: Any
    nir: xr.DataArray
    swir2: xr.DataArray
    scl: xr.DataArray | None
    nir_name: str
    swir2_name: str


def open_input(
    path: str | os.PathLike[str] | Any,
    *,
    bands: dict[str, int] | None = None,
    scale: float | None = None,
    offset: float | None = None,
    nodata: float | None = None,
) -> RasterProduct:
    """Open one input lazily: an opened product is returned as is.

    Parameters
    ----------
    path
        Sentinel-2 SAFE directory or zip, STAC Item (file or URL), Landsat ``*_MTL.txt`` (or the
        folder holding one), GeoTIFF, or an already opened product.
    bands, scale, offset, nodata
        For a GeoTIFF: band name -> 1-based index (e.g. ``{"nir": 4, "swir2": 6}``) and the
        DN -> reflectance rescaling.
    """
    if not isinstance(path, str | os.PathLike):
        return path  # type: ignore[no-any-return]
    text = str(path)
    p = Path(text)
    try:
        mtl = p if text.upper().endswith("_MTL.TXT") else None
        if mtl is None and p.is_dir() and not text.upper().rstrip("/").endswith(".SAFE"):
            mtl = _mtl_in(p)
        if mtl is not None:
            from rus.products.landsat import open_landsat

            return open_landsat(mtl)  # type: ignore[return-value]
        if bands is not None and p.suffix.lower() in {".tif", ".tiff"}:
            from rus.products.geotiff import open_geotiff

            kwargs: dict[str, Any] = {"bands": bands}
            if scale is not None:
                kwargs["scale"] = scale
            if offset is not None:
                kwargs["offset"] = offset
            if nodata is not None:
                kwargs["nodata"] = nodata
            return open_geotiff(p, **kwargs)  # type: ignore[no-any-return]
        from rus.products.info import open_product

        return open_product(text)  # type: ignore[return-value]
    except ProductError as exc:
        raise ChainError(f"burned area: cannot open input: {exc}") from exc


def _mtl_in(folder: Path) -> Path | None:
    found = sorted(folder.glob("*_MTL.txt"))
    if len(found) > 1:
        raise ChainError(
            f"{folder}: holds {len(found)} Landsat scenes ({', '.join(f.name for f in found)}); "
            "pass the *_MTL.txt of the one you mean"
        )
    return found[0] if found else None


def band_roles(product: Any, params: BurnParams) -> tuple[str, str, str | None, float | None]:
    """``(nir, swir2, scl or None, resolution or None)`` band names for ``product``."""
    names = tuple(product.band_names)
    mission = str(product.metadata.mission).upper()
    source = getattr(product, "source", mission)
    resolution: float | None = None
    if params.nir or params.swir2:
        nir, swir2 = params.nir or "nir", params.swir2 or "swir2"
    elif "SENTINEL-2" in mission or {"B8A", "B12"} <= set(names):
        nir, swir2 = params.nir_band, "B12"
        resolution = 10.0 if params.nir_band == "B08" else 20.0
    elif "LANDSAT" in mission or {"B5", "B7"} <= set(names):
        nir, swir2 = "B5", "B7"
    else:
        nir, swir2 = "nir", "swir2"
    missing = [b for b in (nir, swir2) if b not in names]
    if missing:
        raise ChainError(
            f"{source}: missing band(s) {', '.join(missing)} needed for NBR "
            f"(available: {', '.join(names) or 'none'}); name the NIR and SWIR-2 bands with "
            "--nir/--swir2 (BurnParams(nir=..., swir2=...))"
        )
    scl = "SCL" if params.cloud_masking != "none" and "SCL" in names else None
    return nir, swir2, scl, resolution


def _grid(arr: xr.DataArray) -> tuple[str, tuple[float, ...], tuple[int, ...]]:
    crs = arr.rio.crs
    return (
        crs.to_string() if crs is not None else "",
        tuple(round(v, 6) for v in tuple(arr.rio.transform())[:6]),
        tuple(arr.shape),
    )


def same_grid(a: xr.DataArray, b: xr.DataArray) -> bool:
    """True when ``a`` and ``b`` share CRS, transform (to 1e-6) and shape."""
    return _grid(a) == _grid(b)


def same_extent(a: xr.DataArray, b: xr.DataArray, tol: float = 1e-3) -> bool:
    """True when ``a`` and ``b`` cover the same bounds in the same CRS (any resolution)."""
    if a.rio.crs != b.rio.crs:
        return False
    return bool(np.allclose(a.rio.bounds(), b.rio.bounds(), rtol=0, atol=tol))


def _upsample_to(arr: xr.DataArray, like: xr.DataArray, what: str) -> xr.DataArray:
    """Repeat ``arr`` k x k (nearest) onto the finer grid of ``like`` (same origin, integer k)."""
    ta, tl = arr.rio.transform(), like.rio.transform()
    k = abs(ta.a) / abs(tl.a)
    if not (
        math.isclose(k, round(k), rel_tol=1e-9)
        and math.isclose(ta.c, tl.c, abs_tol=1e-6)
        and math.isclose(ta.f, tl.f, abs_tol=1e-6)
        and arr.shape[0] * round(k) == like.shape[0]
        and arr.shape[1] * round(k) == like.shape[1]
    ):
        raise ChainError(f"{what}: cannot bring it onto the {abs(tl.a):g} m grid of the NIR band")
    n = round(k)
    data = arr.data.repeat(n, axis=0).repeat(n, axis=1)
    out = like.copy(data=data).rename(arr.name)
    out.attrs = {**arr.attrs, "resampled": f"nearest x{n} onto {abs(tl.a):g} m"}
    return out


def load_date(product: Any, params: BurnParams, label: str) -> DateBands:
    """The lazy NIR, SWIR-2 reflectance and SCL of one date on one grid."""
    nir_name, swir2_name, scl_name, res = band_roles(product, params)
    source = str(getattr(product, "source", label))
    try:
        nir = product.reflectance(nir_name, res)
        if res == 10.0:
            swir2 = _upsample_to(product.reflectance(swir2_name, 20.0), nir, f"{source} B12")
            scl = (
                _upsample_to(product.scl(20), nir, f"{source} SCL")
                if scl_name is not None
                else None
            )
        else:
            swir2 = product.reflectance(swir2_name, res)
            scl = product.scl(res) if scl_name is not None else None
    except ProductError as exc:
        raise ChainError(f"burned area, {label}-fire input: {exc}") from exc
    if not same_grid(nir, swir2):
        raise ChainError(
            f"{source}: {nir_name} and {swir2_name} are not on the same grid; "
            "resample one of them first"
        )
    swir2 = swir2.assign_coords(x=nir.x, y=nir.y)
    if scl is not None:
        if not same_grid(nir, scl):
            raise ChainError(f"{source}: SCL is not on the grid of {nir_name}")
        scl = scl.assign_coords(x=nir.x, y=nir.y)
    return DateBands(label, source, product, nir, swir2, scl, nir_name, swir2_name)


def _bounds(arr: xr.DataArray) -> tuple[float, float, float, float]:
    left, bottom, right, top = arr.rio.bounds()
    return float(left), float(bottom), float(right), float(top)


def overlap_fraction(pre: xr.DataArray, post: xr.DataArray) -> float:
    """Fraction of the pre-fire grid's extent covered by the post-fire extent."""
    from rasterio.warp import transform_bounds

    pb = _bounds(pre)
    qb = _bounds(post)
    if post.rio.crs != pre.rio.crs:
        qb = transform_bounds(post.rio.crs, pre.rio.crs, *qb, densify_pts=21)
    w = min(pb[2], qb[2]) - max(pb[0], qb[0])
    h = min(pb[3], qb[3]) - max(pb[1], qb[1])
    if w <= 0 or h <= 0:
        return 0.0
    return float(w * h / ((pb[2] - pb[0]) * (pb[3] - pb[1])))


def align_post(pre: DateBands, post: DateBands, warnings: list[str]) -> DateBands:
    """Return ``post`` on the grid of ``pre``, reprojecting (eagerly) when the grids differ.

    Raises
    ------
    ChainError
        The two products do not overlap at all.
    """
    if same_grid(pre.nir, post.nir):
        return replace(
            post,
            nir=post.nir.assign_coords(x=pre.nir.x, y=pre.nir.y),
            swir2=post.swir2.assign_coords(x=pre.nir.x, y=pre.nir.y),
            scl=None if post.scl is None else post.scl.assign_coords(x=pre.nir.x, y=pre.nir.y),
        )
    frac = overlap_fraction(pre.nir, post.nir)
    if frac <= 0.0:
        raise ChainError(
            f"the pre-fire ({pre.source}) and post-fire ({post.source}) products do not overlap "
            f"(pre bounds {_bounds(pre.nir)} in {pre.nir.rio.crs}, post bounds "
            f"{_bounds(post.nir)} in {post.nir.rio.crs}); pick two products of the same area"
        )
    from rasterio.enums import Resampling

    a, b = _grid(pre.nir), _grid(post.nir)
    warnings.append(
        f"post-fire grid ({b[0]}, {b[2][1]}x{b[2][0]} px, transform {b[1]}) differs from the "
        f"pre-fire grid ({a[0]}, {a[2][1]}x{a[2][0]} px, transform {a[1]}): the post-fire bands "
        f"were reprojected onto the pre-fire grid (bilinear; SCL nearest); "
        f"{100 * min(frac, 1.0):.1f}% of the pre-fire extent is covered"
    )
    if frac < 0.5:
        warnings.append(
            f"only {100 * frac:.1f}% of the pre-fire extent is covered by the post-fire product"
        )

    def warp(arr: xr.DataArray, method: Resampling, fill: float) -> xr.DataArray:
        src = arr.rio.write_nodata(fill, encoded=False)
        out: xr.DataArray = src.rio.reproject_match(pre.nir, resampling=method, nodata=fill)
        out = out.assign_coords(x=pre.nir.x, y=pre.nir.y)
        out.attrs = {**arr.attrs, "reprojected": f"onto the pre-fire grid ({method.name})"}
        return out

    nan = float(np.nan)
    return replace(
        post,
        nir=warp(post.nir, Resampling.bilinear, nan),
        swir2=warp(post.swir2, Resampling.bilinear, nan),
        scl=None if post.scl is None else warp(post.scl, Resampling.nearest, 0),
    )
