"""Cloud masks for Sentinel-2 L1C top-of-atmosphere reflectance with s2cloudless.

s2cloudless (Sentinel Hub, Zupanc 2017; Skakun et al. 2022) is a LightGBM pixel classifier
trained on L1C **top-of-atmosphere** reflectance (0..1) of ten bands
(:data:`S2CLOUDLESS_BANDS`) at **160 m**. It gives a cloud probability per pixel; the mask
smooths it with a disk, thresholds it and dilates the result. The defaults of
:func:`s2cloudless_mask` (threshold 0.4, disk averaging radius 4, dilation radius 2, in
pixels) are s2cloudless's recommendation for 160 m input (its published examples and
eo-learn's cloud-mask task, which runs the model at 160 m; the detector's constructor
defaults are 1 and 1); at other resolutions scale the two radii (Sentinel Hub uses 22 and 11
at 10 m).

The averaging disk (radius 4 px = 640 m at 160 m) is a low-pass: clouds much smaller than it
(below ~1 km2) are averaged away. On the simulated L1C pair (``rus simulate s2-fire --level
L1C``: sub-km2 cumulus, read with :func:`~rus.products.sentinel2.load_s2_coarse` at 160 m) the
probability alone (``> 0.4``) finds 99 % of the opaque-cloud pixels and flags <= 0.1 % of
the clear ones; the default mask finds >= 99.6 % of the pixels of clouds of 1 km2 or more
but only 60-76 % of all opaque-cloud pixels, and flags 3-5 % of the clear pixels (the
dilation ring around clouds). ``average_over=2, dilation_size=1`` finds 94-98 % (clear
flagged 3-5 %); the default radii on a 60 m grid 97-98 % (3-4 %). See docs/sentinel2.md.

Pure functions: xarray in, xarray out, no paths. numpy- or dask-backed input; dask input stays
lazy (one task per chunk, deterministic names; the mask adds a halo of
``average_over + dilation_size`` pixels so the result does not depend on the chunking).

s2cloudless is an optional dependency (``pip install 'rus[cloudmask]'``); it is imported only
when a function runs, and a missing package raises :class:`~rus.toolbox.errors.ToolboxError`.
Typical use with the coarse loader::

    toa = load_s2_coarse(open_s2(l1c_safe), S2CLOUDLESS_BANDS, 160)
    prob = s2cloudless_probability(toa)
    cloud = s2cloudless_mask(prob)
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import numpy as np
import xarray as xr

from rus.toolbox.errors import ToolboxError

#: Bands the s2cloudless model takes, in its order (L1C TOA reflectance 0..1).
S2CLOUDLESS_BANDS = ("B01", "B02", "B04", "B05", "B08", "B8A", "B09", "B10", "B11", "B12")
#: Message of the ToolboxError raised when the optional package is missing.
MISSING_PACKAGE = "s2cloudless is not installed: pip install 'rus[cloudmask]'"
#: The LightGBM booster is shared by all threads; predictions run one at a time (LightGBM
#: parallelises each prediction itself).
_PREDICT_LOCK = threading.Lock()

Array = np.ndarray[Any, Any]


def s2cloudless_available() -> bool:
    """True when the optional s2cloudless package is installed (checked without importing it)."""
    import importlib.util

    return importlib.util.find_spec("s2cloudless") is not None


def _detector_class() -> Any:
    """``S2PixelCloudDetector`` (light import: not ``import s2cloudless``, which loads
    sentinelhub); ToolboxError when the package is missing."""
    try:
        from s2cloudless.cloud_detector import S2PixelCloudDetector
    except ImportError as exc:
        raise ToolboxError(MISSING_PACKAGE) from exc
    return S2PixelCloudDetector


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("s2cloudless")
    except PackageNotFoundError:  # pragma: no cover - imported but not installed as a dist
        return "unknown"


@functools.lru_cache(maxsize=1)
def _classifier() -> Any:
    """The s2cloudless pixel classifier (model file loaded once per process)."""
    return _detector_class()(all_bands=False).classifier


def _probability_block(*bands: Array) -> Array:
    """Cloud probability (float32) of one block; NaN where any band is NaN."""
    stack = np.stack([np.asarray(b, dtype=np.float32) for b in bands], axis=-1)
    valid = np.isfinite(stack).all(axis=-1)
    out = np.full(valid.shape, np.nan, dtype=np.float32)
    if valid.any():
        pixels = stack[valid][None, None, :, :]  # (N=1, 1, n, 10) as the classifier wants
        with _PREDICT_LOCK:
            proba = _classifier().image_predict_proba(pixels)[0, 0, :, 1]
        out[valid] = np.asarray(proba, dtype=np.float32)
    return out


def s2cloudless_probability(toa: xr.Dataset) -> xr.DataArray:
    """Cloud probability of every pixel with the s2cloudless model.

    Parameters
    ----------
    toa : xarray.Dataset
        L1C top-of-atmosphere reflectance (0..1, not x 10000) of :data:`S2CLOUDLESS_BANDS` as
        variables on one grid (other variables are ignored), numpy- or dask-backed. The model
        was trained at 160 m (see :func:`rus.products.sentinel2.load_s2_coarse`); L2A surface
        reflectance is not what it expects.

    Returns
    -------
    xarray.DataArray
        ``cloud_probability``, float32 in 0..1 (units ``"1"``), NaN where any input band is
        NaN; same dims/coords (and CRS) as the input; lazy when the input is dask-backed.

    Raises
    ------
    ToolboxError
        s2cloudless not installed, a band missing, bands not on one grid.
    """
    _detector_class()
    if not isinstance(toa, xr.Dataset):
        raise ToolboxError(
            f"s2cloudless_probability: expected an xarray.Dataset of bands, got "
            f"{type(toa).__name__}"
        )
    missing = [b for b in S2CLOUDLESS_BANDS if b not in toa.data_vars]
    if missing:
        raise ToolboxError(
            f"s2cloudless_probability: band(s) {', '.join(missing)} missing from the input "
            f"(needs {', '.join(S2CLOUDLESS_BANDS)}: L1C TOA reflectance)"
        )
    try:
        arrays = xr.align(*(toa[b] for b in S2CLOUDLESS_BANDS), join="exact")
    except ValueError as exc:
        raise ToolboxError("s2cloudless_probability: bands are not on one grid") from exc
    first = arrays[0]
    if any(a.dims != first.dims for a in arrays):
        raise ToolboxError("s2cloudless_probability: bands have different dimensions")
    if first.chunks is not None:
        import dask.array as _da

        da: Any = _da
        data: Any = da.map_blocks(
            _probability_block,
            *(da.asarray(a.data) for a in arrays),
            dtype=np.float32,
            token="s2cloudless-probability",
            meta=np.empty((0,) * first.ndim, dtype=np.float32),
        )
    else:
        data = _probability_block(*(a.values for a in arrays))
    out = xr.DataArray(data, dims=first.dims, coords=first.coords, name="cloud_probability")
    out.attrs = {
        "units": "1",
        "long_name": "cloud probability (s2cloudless)",
        "valid_range": "0..1",
        "method": f"s2cloudless {_version()} S2PixelCloudDetector (LightGBM pixel classifier) "
        f"on L1C TOA reflectance of {' '.join(S2CLOUDLESS_BANDS)}",
        "nodata": "NaN where any input band is NaN",
    }
    return out


def _mask_block(prob: Array, *, threshold: float, average_over: int, dilation_size: int) -> Array:
    """s2cloudless ``get_mask_from_prob`` of one 2-D block (NaN counts as 0, masked False)."""
    det = _detector_class()(
        threshold=threshold,
        average_over=average_over or None,
        dilation_size=dilation_size or None,
    )
    p = np.asarray(prob, dtype=np.float32)
    nan = ~np.isfinite(p)
    filled = np.where(nan, np.float32(0.0), p)
    mask = np.asarray(det.get_mask_from_prob(filled[None, ...])[0], dtype=bool)
    mask[nan] = False
    return mask


def s2cloudless_mask(
    prob: xr.DataArray,
    threshold: float = 0.4,
    average_over: int = 4,
    dilation_size: int = 2,
) -> xr.DataArray:
    """Binary cloud mask from an s2cloudless probability map (``get_mask_from_prob``).

    The probability is averaged over a disk of radius ``average_over`` pixels (OpenCV
    ``filter2D``, reflected borders), thresholded (``> threshold``) and the result dilated by
    a disk of radius ``dilation_size`` - exactly ``S2PixelCloudDetector.get_mask_from_prob``,
    which is called per block. The defaults are s2cloudless's recommendation for its training
    resolution, 160 m; scale the radii at other resolutions.

    Parameters
    ----------
    prob : xarray.DataArray
        2-D cloud probability from :func:`s2cloudless_probability` (numpy or dask).
    threshold : float
        Probability threshold in 0..1 (s2cloudless default 0.4).
    average_over : int
        Disk radius (pixels) of the averaging; 0 skips it.
    dilation_size : int
        Disk radius (pixels) of the dilation; 0 skips it.

    Returns
    -------
    xarray.DataArray
        ``cloud_mask``, bool, True = cloud. NaN probability (no data) counts as 0 in the
        averaging and is False in the mask: mask no data separately.

    Raises
    ------
    ToolboxError
        s2cloudless not installed, input not 2-D, parameters out of range.
    """
    _detector_class()
    if not isinstance(prob, xr.DataArray) or prob.ndim != 2:
        raise ToolboxError("s2cloudless_mask: expected a 2-D xarray.DataArray of probability")
    if not 0.0 <= float(threshold) <= 1.0:
        raise ToolboxError(f"s2cloudless_mask: threshold {threshold} not in 0..1")
    if int(average_over) < 0 or int(dilation_size) < 0:
        raise ToolboxError("s2cloudless_mask: average_over and dilation_size must be >= 0")
    thr, avg, dil = float(threshold), int(average_over), int(dilation_size)
    if prob.chunks is not None:
        import dask.array as _da

        da: Any = _da
        data: Any = da.map_overlap(
            _mask_block,
            da.asarray(prob.data),
            depth=avg + dil,
            boundary="reflect",
            dtype=bool,
            token="s2cloudless-mask",
            meta=np.empty((0, 0), dtype=bool),
            threshold=thr,
            average_over=avg,
            dilation_size=dil,
        )
    else:
        data = _mask_block(prob.values, threshold=thr, average_over=avg, dilation_size=dil)
    out = xr.DataArray(data, dims=prob.dims, coords=prob.coords, name="cloud_mask")
    out.attrs = {
        "long_name": "cloud mask (s2cloudless): True = cloud",
        "method": f"s2cloudless {_version()} get_mask_from_prob: disk average radius {avg} px, "
        f"probability > {thr:g}, disk dilation radius {dil} px",
        "threshold": thr,
        "average_over": avg,
        "dilation_size": dil,
        "note": "defaults are s2cloudless's recommendation at 160 m (its training resolution); "
        "no data (NaN probability) is False",
    }
    return out
