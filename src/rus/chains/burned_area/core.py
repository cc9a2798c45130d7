"""The computing core of the burned-area chain: open, align, one fused pass, clean.

:func:`compute_stage` opens both products, checks dates and overlap, reprojects the post-fire
bands when the grids differ, and runs the fused pass (:mod:`.fused`): every band of both dates
is decoded once, in parallel windows, and every per-pixel step (SCL masking, NBR, dNBR, RdNBR,
RBR, classes, quicklook samples, mask counts) runs on the block just decoded.
:func:`finish_stage` then applies the minimum mapping unit, which needs whole patches, and
builds the Dataset.
"""

from __future__ import annotations

import math
import warnings as _warnings
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import xarray as xr

from rus.chains.burned_area.clouds import is_s2_l1c, mask_layers
from rus.chains.burned_area.fused import FusedResult, compute_fused, thumb_step
from rus.chains.burned_area.inputs import (
    DateBands,
    align_post,
    band_roles,
    load_date,
    open_input,
    same_extent,
)
from rus.chains.burned_area.params import BurnParams, BurnWarning
from rus.chains.burned_area.writers import fit_nearest
from rus.chains.errors import ChainError
from rus.products._windows import prefetch_windows
from rus.toolbox import burn, indices


@dataclass
class BurnComputation:
    """Everything one run computed: the Dataset plus what the writers need."""

    dataset: xr.Dataset
    quicklook_rgb: np.ndarray
    warnings: list[str]
    counts: dict[str, int]
    mmu: dict[str, int]
    simulated: bool
    pre: DateBands
    post: DateBands
    times: dict[str, datetime | None] = field(default_factory=dict)
    cloud_methods: dict[str, str] = field(default_factory=dict)


def _sensing_time(bands: DateBands) -> datetime | None:
    t = getattr(bands.product.metadata, "sensing_time", None)
    return t if isinstance(t, datetime) else None


def _check_dates(pre: DateBands, post: DateBands, warnings: list[str]) -> None:
    t0, t1 = _sensing_time(pre), _sensing_time(post)
    if t0 is None or t1 is None:
        warnings.append("sensing time unknown for one input: the date order was not checked")
    elif t1 < t0:
        warnings.append(
            f"the post-fire product ({t1:%Y-%m-%d}) was sensed BEFORE the pre-fire product "
            f"({t0:%Y-%m-%d}): the inputs look swapped, regrowth and burn classes are inverted"
        )
    elif t1 == t0:
        warnings.append(f"both products were sensed at the same time ({t0:%Y-%m-%d %H:%M})")
    tiles = [getattr(b.product.metadata, "tile_id", None) for b in (pre, post)]
    if all(tiles) and tiles[0] != tiles[1]:
        warnings.append(
            f"the products are from different tiles ({tiles[0]} pre-fire, {tiles[1]} "
            "post-fire): only their overlap is mapped"
        )


def _red_thumb(bands: DateBands, target: tuple[int, int]) -> np.ndarray | None:
    """Post-fire red reflectance at ``target`` size for the quicklook, read cheaply, or None.

    Reads the file's overviews (JPEG2000 resolution levels, COG overviews) at the picture size
    instead of decoding a full-resolution band: a few percent of one band's decode time.
    """
    import rasterio
    from rasterio.enums import Resampling

    from rus.products.errors import ProductError

    names = tuple(bands.product.band_names)
    name = next((n for n in ("B04", "B4", "red") if n in names), None)
    if name is None:
        return None
    try:
        red: xr.DataArray = bands.product.reflectance(name)
    except ProductError:
        return None
    path = red.attrs.get("source_file")
    if not path or not same_extent(red, bands.nir):
        return None
    try:
        with rasterio.open(path) as ds:
            dn = ds.read(
                int(red.attrs.get("band_index", 1)), out_shape=target, resampling=Resampling.nearest
            )
    except rasterio.errors.RasterioError:
        return None
    scale = float(red.attrs.get("scale_factor_applied", 1.0))
    offset = float(red.attrs.get("add_offset_applied", 0.0))
    out = dn.astype(np.float32) * np.float32(scale) + np.float32(offset)
    out[dn == 0] = np.nan
    return np.asarray(out)


def _quicklook_rgb(values: dict[str, Any], shape: tuple[int, int]) -> np.ndarray:
    """RGB float image in [0, 1] (NaN where no data) from the decimated bands."""

    def fit(key: str) -> np.ndarray:
        return fit_nearest(np.asarray(values[key], np.float32), shape)

    swir2, nir = fit("ql_swir2"), fit("ql_nir")
    red = fit("ql_red") if "ql_red" in values else nir
    rgb = np.stack([swir2, nir, red], axis=-1)
    lo = np.nanpercentile(rgb, 2, axis=(0, 1)) if np.isfinite(rgb).any() else np.zeros(3)
    hi = np.nanpercentile(rgb, 98, axis=(0, 1)) if np.isfinite(rgb).any() else np.ones(3)
    stretched = (rgb - lo) / np.where(hi > lo, hi - lo, 1.0)
    return np.asarray(np.clip(stretched, 0.0, 1.0), dtype=np.float32)


def _pixel_area(arr: xr.DataArray) -> float:
    t = arr.rio.transform()
    return float(abs(t.a * t.e - t.b * t.d))


@dataclass
class FusedStage:
    """The state after the fused pass: inputs, full-resolution outputs before the MMU."""

    pre: DateBands
    post: DateBands
    params: BurnParams
    fused: FusedResult
    counts: dict[str, int]
    warnings: list[str]
    simulated: bool
    red_thumb: Future[np.ndarray | None] | None = None
    cloud_methods: dict[str, str] = field(default_factory=dict)

    @property
    def transform(self) -> Any:
        """Affine transform of the output grid (the pre-fire grid)."""
        return self.pre.nir.rio.transform()

    @property
    def crs(self) -> Any:
        """CRS of the output grid."""
        return self.pre.nir.rio.crs


def index_attrs() -> dict[str, dict[str, Any]]:
    """Attributes (units, long_name, scale) of ``dnbr``, ``rbr``, ``rdnbr``."""
    one = xr.DataArray(np.ones((1, 1), np.float32), dims=("y", "x"))
    ds = indices.burn_indices(one, one * 0.5, one, one)
    return {name: dict(ds[name].attrs) for name in ("dnbr", "rbr", "rdnbr")}


def compute_stage(
    pre_in: Any,
    post_in: Any,
    params: BurnParams,
    *,
    background: Callable[[], None] | None = None,
) -> FusedStage:
    """Open and align both dates and run the fused pass (the decode-bound part).

    ``background`` (optional) runs on a side thread while the pass decodes: work the later
    steps need (imports, kernel loading) that would otherwise wait on their critical path.

    Raises
    ------
    ChainError
        Unreadable input, missing band, no overlap, or no valid pixel after masking.
    """
    pre_product, post_product = open_input(pre_in), open_input(post_in)
    # the first windows of every band start decoding now, on the core that the imports and
    # graph building below leave idle (see rus.products._windows.prefetch_windows)
    windows = [*first_windows(pre_product, params), *first_windows(post_product, params)]
    with prefetch_windows(windows):
        return _compute_opened(pre_product, post_product, params, background)


def first_windows(product: Any, params: BurnParams, per_band: int = 2) -> list[tuple[Any, ...]]:
    """Read arguments of the first ``per_band`` windows of each band the chain will decode
    (empty when the product cannot say, or on the B08 10 m path)."""
    from rus.products._raster import band_windows
    from rus.products.errors import ProductError

    if not hasattr(product, "band_file"):
        return []
    try:
        nir, swir2, scl, res = band_roles(product, params)
        if res == 10.0:
            return []
        names = [nir, swir2] + ([scl] if scl is not None else [])
        return [w for n in names for w in band_windows(product.band_file(n, res))[:per_band]]
    except (ProductError, ChainError):
        return []  # reported properly when the bands are loaded


def _compute_opened(
    pre_product: Any,
    post_product: Any,
    params: BurnParams,
    background: Callable[[], None] | None,
) -> FusedStage:
    warnings: list[str] = []
    pre = load_date(pre_product, params, "pre")
    post = load_date(post_product, params, "post")
    _check_dates(pre, post, warnings)
    try:
        post = align_post(pre, post, warnings)
    except ChainError:
        for msg in warnings:  # what was noticed so far helps to understand the error
            _warnings.warn(msg, BurnWarning, stacklevel=3)
        raise
    layers, methods = mask_layers(pre, post, params)
    unmasked = [b for b in (pre, post) if methods[b.label] == "none"]
    if unmasked and params.cloud_masking != "none":
        which = " and ".join(f"{b.label}-fire ({b.source})" for b in unmasked)
        hint = ""
        if any(is_s2_l1c(b) for b in unmasked):
            hint = (
                "; for Sentinel-2 L1C install s2cloudless (pip install 'rus[cloudmask]') "
                "and use --cloud-mask s2cloudless"
            )
        warnings.append(
            f"no cloud mask for the {which} date: clouds, shadows and water are NOT masked "
            f"there (only no-data pixels are){hint}"
        )
    red_thumb: Future[np.ndarray | None] | None = None
    # a side thread works while the fused pass decodes (GDAL releases the GIL): the quicklook's
    # red band read from the file's overviews, then the caller's background work
    with ThreadPoolExecutor(1, thread_name_prefix="burn-side") as side:
        if post.nir.attrs.get("reprojected") is None:
            shape = tuple(pre.nir.shape)
            step = thumb_step(shape, params.quicklook_size)
            target = (math.ceil(shape[0] / step), math.ceil(shape[1] / step))
            red_thumb = side.submit(_red_thumb, post, target)
        if background is not None:
            # only warms up later steps: its errors are left for them to raise and report
            side.submit(background)
        fused = compute_fused(pre, post, params, layers)
    total = int(fused.severity.size)
    counts = {"total_pixels": total, "nodata_pixels": fused.counts["nodata_pixels"]}
    counts["valid_pixels"] = fused.counts["valid_pixels"]
    counts.update({k: v for k, v in fused.counts.items() if "_masked_" in k})
    valid_frac = counts["valid_pixels"] / total if total else 0.0
    if valid_frac <= params.min_valid_fraction:
        detail = ", ".join(
            f"{k.removesuffix('_pixels').replace('_', ' ')} {100 * v / total:.1f}%"
            for k, v in counts.items()
            if k not in {"total_pixels", "valid_pixels"}
        )
        for msg in warnings:
            _warnings.warn(msg, BurnWarning, stacklevel=2)
        raise ChainError(
            f"no usable pixels: {100 * valid_frac:.3f}% of {pre.source} x {post.source} is valid "
            f"after masking ({detail}); the scenes are cloud-covered, empty or do not overlap. "
            "Pick clearer products or change --mask-classes"
        )
    if valid_frac < 0.2:
        warnings.append(f"only {100 * valid_frac:.1f}% of the pixels are valid after masking")
    simulated = bool(
        getattr(pre.product.metadata, "simulated", False)
        or getattr(post.product.metadata, "simulated", False)
    )
    return FusedStage(pre, post, params, fused, counts, warnings, simulated, red_thumb, methods)


def finish_stage(stage: FusedStage) -> BurnComputation:
    """Minimum mapping unit, quicklook image and the Dataset (after :func:`compute_stage`)."""
    pre, post, params, fused = stage.pre, stage.post, stage.params, stage.fused
    warnings = list(stage.warnings)
    min_px = burn.min_pixels(params.min_mapping_unit_ha, _pixel_area(pre.nir))
    severity, mmu = burn.remove_small_patches(
        fused.severity, min_px, connectivity=params.connectivity, inplace=True
    )
    mmu["min_pixels"] = min_px
    if not np.any(severity >= burn.BURNED_CODES[0]):
        warnings.append(
            "no burned pixel found (nothing reaches low severity after the minimum mapping unit): "
            "check the dates, the area and the index"
        )
    thumbs = {"ql_swir2": fused.thumb_swir2, "ql_nir": fused.thumb_nir}
    if stage.red_thumb is not None:
        red = stage.red_thumb.result()
        if red is not None and red.shape == fused.thumb_nir.shape:
            thumbs["ql_red"] = red
    rgb = _quicklook_rgb(thumbs, fused.thumb_nir.shape)
    values = {"dnbr": fused.dnbr, "rbr": fused.rbr, "rdnbr": fused.rdnbr}
    ds = _dataset(pre, post, params, values, severity, stage.simulated)
    for msg in warnings:
        _warnings.warn(msg, BurnWarning, stacklevel=3)
    ds.attrs["warnings"] = list(warnings)
    return BurnComputation(
        dataset=ds,
        quicklook_rgb=rgb,
        warnings=warnings,
        counts=stage.counts,
        mmu=mmu,
        simulated=stage.simulated,
        pre=pre,
        post=post,
        times={"pre": _sensing_time(pre), "post": _sensing_time(post)},
        cloud_methods=dict(stage.cloud_methods),
    )


def run_core(pre_in: Any, post_in: Any, params: BurnParams | None = None) -> BurnComputation:
    """Open, align, compute and clean one pre/post pair (see :func:`compute_burn_severity`)."""
    return finish_stage(compute_stage(pre_in, post_in, params or BurnParams()))


def _dataset(
    pre: DateBands,
    post: DateBands,
    params: BurnParams,
    values: dict[str, Any],
    severity: np.ndarray,
    simulated: bool,
) -> xr.Dataset:
    coords = {"y": pre.nir.y, "x": pre.nir.x}
    attrs_src = index_attrs()
    data: dict[str, xr.DataArray] = {}
    for name in ("dnbr", "rbr", "rdnbr"):
        data[name] = xr.DataArray(
            values[name], dims=("y", "x"), coords=coords, attrs=attrs_src[name]
        )
    sev_attrs = {
        "units": "1",
        "long_name": f"burn severity class (USGS classes applied to {params.index.upper()})",
        "scale": "class codes 0..7 (0 = masked)",
        "flag_values": [c.code for c in burn.SEVERITY_CLASSES],
        "flag_meanings": " ".join(c.key for c in burn.SEVERITY_CLASSES),
        "thresholds": list(params.thresholds),
        "boundary_convention": "lower bound inclusive, upper bound exclusive",
        "minimum_mapping_unit_ha": params.min_mapping_unit_ha,
    }
    data["severity"] = xr.DataArray(severity, dims=("y", "x"), coords=coords, attrs=sev_attrs)
    ds = xr.Dataset(data)
    # inplace: rioxarray otherwise deep-copies every variable (~1 s for a tile)
    ds.rio.write_crs(pre.nir.rio.crs, inplace=True)
    ds.rio.write_transform(pre.nir.rio.transform(), inplace=True)
    assert isinstance(ds, xr.Dataset)
    t0, t1 = _sensing_time(pre), _sensing_time(post)
    ds.attrs = {
        "title": "burned area and burn severity" + (" (SIMULATED inputs)" if simulated else ""),
        "simulated": int(simulated),
        "pre_fire": pre.source,
        "post_fire": post.source,
        "pre_fire_time": t0.isoformat() if t0 else "",
        "post_fire_time": t1.isoformat() if t1 else "",
        "nir_band": pre.nir_name,
        "swir2_band": pre.swir2_name,
        "classified_index": params.index,
        "connectivity": params.connectivity,
        "resolution_m": float(abs(pre.nir.rio.transform().a)),
    }
    return ds


def compute_burn_severity(pre: Any, post: Any, params: BurnParams | None = None) -> xr.Dataset:
    """Burn indices and severity of a pre/post-fire pair, as an in-memory Dataset.

    Parameters
    ----------
    pre, post
        Products (Sentinel-2 SAFE dir/zip, STAC Item, Landsat ``*_MTL.txt``, GeoTIFF) as paths,
        or already opened products (``open_s2``, ``open_geotiff(bands=...)``, ...).
    params
        :class:`BurnParams` (defaults: RBR, B8A/B12 at 20 m, SCL masking, 1 ha MMU).

    Returns
    -------
    xarray.Dataset
        On the pre-fire grid: ``dnbr``, ``rbr``, ``rdnbr`` (float32, unitless, NOT x1000, NaN
        where masked) and ``severity`` (uint8 codes 0..7 after the minimum mapping unit). The
        ``warnings`` attribute lists what the user should know (also issued as
        :class:`BurnWarning`).

    Raises
    ------
    ChainError
        Missing bands, no overlap, no valid pixel (all cloud), unreadable inputs.
    """
    result: xr.Dataset = run_core(pre, post, params).dataset
    return result
