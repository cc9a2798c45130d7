"""Spectral indices and their differenced forms on any xarray data (lazy with dask).

Every function takes :class:`xarray.DataArray` reflectances (any shape, any chunking; numpy or
dask backed) and returns a DataArray of the same shape with ``units``, ``long_name`` and
``scale`` attributes. Nothing is computed here: dask-backed inputs give dask-backed outputs.

Scale convention: every index is stored on its natural, unitless scale (NBR in [-1, 1]; dNBR in
[-2, 2]). The USGS practice of multiplying dNBR by 1000 is *not* applied; the ``scale``
attribute says so, and :mod:`rus.toolbox.burn` divides the USGS thresholds by 1000 instead.

Inputs must share their grid: coordinates are aligned with ``join="exact"`` and a mismatch
raises :class:`~rus.toolbox.errors.ToolboxError` (rather than silently intersecting the grids,
which would shrink the map to the overlap or to nothing).

Formulas
--------
- normalized difference ``(a - b) / (a + b)``; NaN where ``a + b == 0`` or either input is NaN
- NBR  = (NIR - SWIR2) / (NIR + SWIR2)
- NDVI = (NIR - RED) / (NIR + RED)
- NDWI = (GREEN - NIR) / (GREEN + NIR)  (McFeeters 1996)
- dNBR  = NBR_pre - NBR_post
- RdNBR = dNBR / sqrt(|NBR_pre|)         (Miller & Thode 2007)
- RBR   = dNBR / (NBR_pre + 1.001)       (Parks, Dillon & Miller 2014)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from rus.toolbox.errors import ToolboxError

#: ``scale`` attribute of every index output.
UNIT_SCALE = "1 (unitless ratio, not multiplied by 1000)"

#: Offset in the RBR denominator (Parks et al. 2014) keeping it away from zero.
RBR_OFFSET = 1.001


def _as_float(da: xr.DataArray) -> xr.DataArray:
    """Integer inputs become float32; floating inputs keep their precision."""
    if not isinstance(da, xr.DataArray):
        raise ToolboxError(f"indices: expected an xarray.DataArray, got {type(da).__name__}")
    if np.issubdtype(da.dtype, np.floating):
        return da
    return da.astype(np.float32)


def _aligned(step: str, *arrays: xr.DataArray) -> tuple[xr.DataArray, ...]:
    """Check that the inputs share dims and coordinates; raise ToolboxError otherwise."""
    floats = tuple(_as_float(a) for a in arrays)
    dims = {a.dims for a in floats}
    if len(dims) != 1:
        raise ToolboxError(f"{step}: inputs have different dimensions {sorted(dims)}")
    try:
        return tuple(xr.align(*floats, join="exact"))
    except ValueError as exc:
        raise ToolboxError(
            f"{step}: inputs are not on the same grid (coordinates differ); "
            "resample or reproject one onto the other first"
        ) from exc


def _finish(da: xr.DataArray, name: str, long_name: str, **extra: Any) -> xr.DataArray:
    da = da.rename(name)
    da.attrs = {"units": "1", "long_name": long_name, "scale": UNIT_SCALE, **extra}
    return da


def normalized_difference(
    a: xr.DataArray,
    b: xr.DataArray,
    *,
    name: str = "nd",
    long_name: str = "normalized difference (a - b) / (a + b)",
) -> xr.DataArray:
    """Normalized difference ``(a - b) / (a + b)`` of two aligned arrays.

    Parameters
    ----------
    a, b
        Reflectances on the same grid (integers are cast to float32).
    name, long_name
        Name and ``long_name`` attribute of the result.

    Returns
    -------
    xarray.DataArray
        Values in [-1, 1] for non-negative inputs; NaN where ``a + b == 0`` or an input is NaN.
    """
    a, b = _aligned(name, a, b)
    total = a + b
    nd = (a - b) / total.where(total != 0)
    dtype = np.result_type(a.dtype, b.dtype)
    return _finish(nd.astype(dtype), name, long_name)


def nbr(nir: xr.DataArray, swir2: xr.DataArray) -> xr.DataArray:
    """Normalized Burn Ratio ``(NIR - SWIR2) / (NIR + SWIR2)``.

    Parameters
    ----------
    nir
        Near-infrared reflectance (Sentinel-2 B8A or B08; Landsat-8 B5).
    swir2
        Short-wave infrared 2 reflectance (Sentinel-2 B12; Landsat-8 B7).
    """
    return normalized_difference(nir, swir2, name="nbr", long_name="normalized burn ratio")


def ndvi(nir: xr.DataArray, red: xr.DataArray) -> xr.DataArray:
    """Normalized Difference Vegetation Index ``(NIR - RED) / (NIR + RED)``."""
    return normalized_difference(
        nir, red, name="ndvi", long_name="normalized difference vegetation index"
    )


def ndwi(green: xr.DataArray, nir: xr.DataArray) -> xr.DataArray:
    """Normalized Difference Water Index ``(GREEN - NIR) / (GREEN + NIR)`` (McFeeters 1996)."""
    return normalized_difference(
        green, nir, name="ndwi", long_name="normalized difference water index (McFeeters)"
    )


def differenced(pre: xr.DataArray, post: xr.DataArray, *, name: str | None = None) -> xr.DataArray:
    """Temporal difference ``pre - post`` of an index (e.g. dNDVI); positive = decrease.

    Parameters
    ----------
    pre, post
        The same index on the same grid before and after the event.
    name
        Result name; default ``"d" + pre.name``.
    """
    base = str(pre.name) if pre.name is not None else "index"
    out_name = name or f"d{base}"
    pre, post = _aligned(out_name, pre, post)
    long = str(pre.attrs.get("long_name", base))
    return _finish(pre - post, out_name, f"differenced {long} (pre - post)")


def dnbr(nbr_pre: xr.DataArray, nbr_post: xr.DataArray) -> xr.DataArray:
    """Differenced NBR ``NBR_pre - NBR_post`` (not multiplied by 1000)."""
    nbr_pre, nbr_post = _aligned("dnbr", nbr_pre, nbr_post)
    return _finish(
        nbr_pre - nbr_post,
        "dnbr",
        "differenced normalized burn ratio (pre - post)",
        usgs_scale_note="multiply by 1000 for the USGS dNBR scale",
    )


def rdnbr(nbr_pre: xr.DataArray, nbr_post: xr.DataArray) -> xr.DataArray:
    """Relative dNBR ``dNBR / sqrt(|NBR_pre|)`` (Miller & Thode 2007).

    Undefined (NaN) where ``NBR_pre == 0``; the ratio grows without bound as ``NBR_pre``
    approaches 0 (sparse pre-fire vegetation), which is a known property of RdNBR.
    """
    nbr_pre, nbr_post = _aligned("rdnbr", nbr_pre, nbr_post)
    root = abs(nbr_pre) ** 0.5
    out = (nbr_pre - nbr_post) / root.where(root != 0)
    return _finish(
        out.astype(nbr_pre.dtype),
        "rdnbr",
        "relative differenced normalized burn ratio dNBR / sqrt(|NBR_pre|)",
        usgs_scale_note="multiply by 1000 for the scale used by Miller & Thode (2007)",
    )


def rbr(nbr_pre: xr.DataArray, nbr_post: xr.DataArray) -> xr.DataArray:
    """Relativized Burn Ratio ``dNBR / (NBR_pre + 1.001)`` (Parks et al. 2014)."""
    nbr_pre, nbr_post = _aligned("rbr", nbr_pre, nbr_post)
    out = (nbr_pre - nbr_post) / (nbr_pre + RBR_OFFSET)
    return _finish(
        out.astype(nbr_pre.dtype),
        "rbr",
        "relativized burn ratio dNBR / (NBR_pre + 1.001)",
        usgs_scale_note="multiply by 1000 to compare with USGS dNBR class thresholds",
    )


def burn_indices(
    nir_pre: xr.DataArray,
    swir2_pre: xr.DataArray,
    nir_post: xr.DataArray,
    swir2_post: xr.DataArray,
) -> xr.Dataset:
    """NBR of both dates and dNBR, RdNBR, RBR in one lazy Dataset.

    Parameters
    ----------
    nir_pre, swir2_pre, nir_post, swir2_post
        Reflectances of the two dates, all on the same grid.

    Returns
    -------
    xarray.Dataset
        Variables ``nbr_pre``, ``nbr_post``, ``dnbr``, ``rdnbr``, ``rbr``.
    """
    pre = nbr(nir_pre, swir2_pre)
    post = nbr(nir_post, swir2_post)
    ds = xr.Dataset(
        {
            "nbr_pre": pre.rename("nbr_pre"),
            "nbr_post": post.rename("nbr_post"),
            "dnbr": dnbr(pre, post),
            "rdnbr": rdnbr(pre, post),
            "rbr": rbr(pre, post),
        }
    )
    ds["nbr_pre"].attrs["long_name"] = "normalized burn ratio, pre-fire"
    ds["nbr_post"].attrs["long_name"] = "normalized burn ratio, post-fire"
    return ds


# -- NumPy kernels (one block at a time; used by fused chains) ------------------------------------


def nbr_array(nir: np.ndarray, swir2: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
    """NBR of two NumPy arrays in their floating precision; NaN where ``nir + swir2 == 0``.

    The same formula as :func:`nbr` with fewer temporaries, for per-block kernels; ``out``
    (optional) receives the result.
    """
    total = nir + swir2
    out = np.subtract(nir, swir2, out=out)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(out, total, out=out)
    np.copyto(out, np.nan, where=total == 0)
    return np.asarray(out)


def burn_ratio_arrays(
    nir_pre: np.ndarray,
    swir2_pre: np.ndarray,
    nir_post: np.ndarray,
    swir2_post: np.ndarray,
    *,
    out: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    invalid: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(dNBR, RBR, RdNBR)`` of NumPy reflectance blocks (same formulas as the xarray API).

    Parameters
    ----------
    nir_pre, swir2_pre, nir_post, swir2_post
        Floating arrays of one shape (float32 keeps float32).
    out
        Optional ``(dnbr, rbr, rdnbr)`` arrays (views allowed) that receive the results, so that
        a kernel writes straight into its output tiles.
    invalid
        Optional boolean mask (e.g. clouds): all three results are NaN there.

    Returns
    -------
    tuple of numpy.ndarray
        Unitless (not x1000); NaN where an input is NaN, an NBR is undefined, or (RdNBR)
        ``NBR_pre == 0``.
    """
    pre = nbr_array(nir_pre, swir2_pre)
    post = nbr_array(nir_post, swir2_post)
    if invalid is not None:
        np.copyto(pre, np.nan, where=invalid)  # NaN in NBR_pre gives NaN in all three
    d_out, rbr_out, rd_out = out if out is not None else (None, None, None)
    d = np.subtract(pre, post, out=d_out)
    one = np.asarray(RBR_OFFSET, dtype=pre.dtype)
    tmp = np.add(pre, one, out=post)  # post is no longer needed: reuse its memory
    with np.errstate(divide="ignore", invalid="ignore"):
        rbr_ = np.divide(d, tmp, out=rbr_out)
        root = np.sqrt(np.abs(pre, out=pre), out=pre)
        np.copyto(root, np.nan, where=root == 0)
        rd = np.divide(d, root, out=rd_out)
    return d, rbr_, rd
