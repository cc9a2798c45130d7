"""Burn severity: USGS classes, SCL masking, minimum mapping unit, vectorisation, statistics.

Severity codes (the same across rus, including ``severity.tif`` and the simulator's truth)::

    0 no data / masked      3 unburned            6 moderate-high severity
    1 enhanced regrowth high 4 low severity        7 high severity
    2 enhanced regrowth low  5 moderate-low severity

Boundary convention
-------------------
The USGS table (Key & Benson 2006) gives integer ranges of dNBR x 1000 (e.g. unburned -100 to
+99, low +100 to +269). rus classifies continuous values with **lower bounds inclusive, upper
bounds exclusive**: a value ``v`` (x1000) is *low* when ``100 <= v < 270``. So 99.9 is unburned,
100.0 is low, 269.99 is low and 270.0 is moderate-low. Values below -500 stay in "enhanced
regrowth, high" and values above +1300 in "high" (outside the USGS range; the statistics count
them). The thresholds are applied on the unitless scale (divided by 1000) to dNBR or RBR.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from rus.toolbox.errors import ToolboxError

if TYPE_CHECKING:
    import geopandas as gpd
    from affine import Affine


@dataclass(frozen=True)
class SeverityClass:
    """One burn severity class: code, names, colour and range of dNBR x 1000."""

    code: int
    key: str
    name: str
    color: str
    lower: float | None
    upper: float | None


#: The classes in code order; ``lower``/``upper`` are dNBR x 1000 (lower inclusive).
SEVERITY_CLASSES: tuple[SeverityClass, ...] = (
    SeverityClass(0, "masked", "No data / masked", "#000000", None, None),
    SeverityClass(1, "regrowth_high", "Enhanced regrowth, high", "#7a8737", None, -250.0),
    SeverityClass(2, "regrowth_low", "Enhanced regrowth, low", "#acbe4d", -250.0, -100.0),
    SeverityClass(3, "unburned", "Unburned", "#0ae042", -100.0, 100.0),
    SeverityClass(4, "low", "Low severity", "#fff70b", 100.0, 270.0),
    SeverityClass(5, "moderate_low", "Moderate-low severity", "#ffaf38", 270.0, 440.0),
    SeverityClass(6, "moderate_high", "Moderate-high severity", "#ff641b", 440.0, 660.0),
    SeverityClass(7, "high", "High severity", "#a41fd6", 660.0, None),
)

#: Class boundaries on the unitless scale (USGS dNBR x 1000 divided by 1000).
USGS_THRESHOLDS: tuple[float, ...] = (-0.25, -0.1, 0.1, 0.27, 0.44, 0.66)

MASKED = 0
UNBURNED = 3
#: Codes counted as burned (low severity and above).
BURNED_CODES: tuple[int, ...] = (4, 5, 6, 7)

#: SCL classes masked on either date: no data, defective, cloud shadow, clouds, cirrus, snow.
DEFAULT_SCL_MASK: tuple[int, ...] = (0, 1, 3, 8, 9, 10, 11)
#: SCL classes masked from the pre-fire date only (fresh char is often classed water/dark).
DEFAULT_SCL_WATER: tuple[int, ...] = (6,)

#: Valid range of USGS dNBR x 1000; values outside are counted as anomalies.
USGS_RANGE = (-500.0, 1300.0)


def class_by_code(code: int) -> SeverityClass:
    """The :class:`SeverityClass` with this code; ToolboxError for an unknown code."""
    for c in SEVERITY_CLASSES:
        if c.code == code:
            return c
    raise ToolboxError(f"severity: unknown class code {code}")


def _check_thresholds(thresholds: Sequence[float]) -> np.ndarray:
    t = np.asarray(thresholds, dtype=np.float64)
    if t.shape != (6,) or not np.all(np.diff(t) > 0) or not np.all(np.isfinite(t)):
        raise ToolboxError(
            f"severity: thresholds must be 6 increasing finite numbers, got {list(thresholds)}"
        )
    return t


def classify_array(values: np.ndarray, thresholds: Sequence[float] = USGS_THRESHOLDS) -> np.ndarray:
    """Severity codes (uint8, 1..7; 0 where NaN) of a NumPy array of dNBR or RBR.

    Lower bounds are inclusive: ``thresholds[i] <= v < thresholds[i+1]`` gives code ``i + 2``.
    The thresholds are rounded to the data's floating precision first, so a float32 value of
    exactly ``float32(0.1)`` is *low*, as its decimal reading says.
    """
    t = _check_thresholds(thresholds)
    values = np.asarray(values)
    if np.issubdtype(values.dtype, np.floating):
        t = t.astype(values.dtype)  # compare in the data's precision: float32(0.1) is "0.1"
    # code = 1 + number of thresholds <= v (as searchsorted(side="right"), ~15x faster)
    codes = np.ones(values.shape, dtype=np.uint8)
    for threshold in t:
        codes += values >= threshold
    if np.issubdtype(values.dtype, np.floating):
        codes[np.isnan(values)] = MASKED
    return codes


def classify_severity(
    index: xr.DataArray,
    thresholds: Sequence[float] = USGS_THRESHOLDS,
    *,
    valid: xr.DataArray | None = None,
) -> xr.DataArray:
    """Classify dNBR or RBR (unitless) into the USGS severity codes, lazily.

    Parameters
    ----------
    index
        dNBR or RBR on the unitless scale (not x1000).
    thresholds
        Six increasing class boundaries (default :data:`USGS_THRESHOLDS`).
    valid
        Optional boolean mask; False becomes code 0 (masked).

    Returns
    -------
    xarray.DataArray
        uint8 codes 0..7 named ``severity``.
    """
    t = tuple(float(v) for v in _check_thresholds(thresholds))
    codes: xr.DataArray = xr.apply_ufunc(
        classify_array,
        index,
        kwargs={"thresholds": t},
        dask="parallelized",
        output_dtypes=[np.uint8],
    )
    if valid is not None:
        codes = codes.where(valid, MASKED).astype(np.uint8)
    codes = codes.rename("severity")
    codes.attrs = {
        "units": "1",
        "long_name": "burn severity class (USGS, Key & Benson 2006)",
        "scale": "class codes 0..7 (0 = masked)",
        "flag_values": [c.code for c in SEVERITY_CLASSES],
        "flag_meanings": " ".join(c.key for c in SEVERITY_CLASSES),
        "thresholds": list(t),
        "boundary_convention": "lower bound inclusive, upper bound exclusive",
    }
    return codes


def scl_valid(
    scl_pre: xr.DataArray | None,
    scl_post: xr.DataArray | None,
    *,
    mask_classes: Sequence[int] = DEFAULT_SCL_MASK,
    water_classes: Sequence[int] = DEFAULT_SCL_WATER,
) -> xr.DataArray | None:
    """Boolean validity mask from the Scene Classification Layers of both dates.

    A pixel is valid unless its SCL is in ``mask_classes`` on either date, or in
    ``water_classes`` on the pre-fire date (water is taken from the pre-fire date: freshly burned
    ground is often classed water or dark area after the fire).

    Parameters
    ----------
    scl_pre, scl_post
        SCL (uint8) of each date on the same grid, or None when a date has no SCL (L1C,
        Landsat): that date then masks nothing.

    Returns
    -------
    xarray.DataArray or None
        True where valid; None when neither date has an SCL.
    """
    for cls in (*mask_classes, *water_classes):
        if not 0 <= int(cls) <= 11:
            raise ToolboxError(f"SCL masking: class {cls} is not an SCL class (0..11)")
    valid: xr.DataArray | None = None
    if scl_pre is not None:
        valid = ~scl_pre.isin([*mask_classes, *water_classes])
    if scl_post is not None:
        post_ok = ~scl_post.isin(list(mask_classes))
        if valid is None:
            valid = post_ok
        else:
            (valid, post_ok) = xr.align(valid, post_ok, join="exact")
            valid = valid & post_ok
    if valid is not None:
        valid = valid.rename("valid")
        valid.attrs = {"units": "1", "long_name": "valid pixel (not masked by SCL)"}
    return valid


def scl_lookup(classes: Sequence[int]) -> np.ndarray:
    """Boolean lookup table (256 entries) that is True for the given SCL classes.

    ``scl_lookup(classes)[scl]`` marks a uint8 SCL block in one pass (faster than ``np.isin``).
    """
    lut = np.zeros(256, dtype=bool)
    for cls in classes:
        if not 0 <= int(cls) <= 11:
            raise ToolboxError(f"SCL masking: class {cls} is not an SCL class (0..11)")
        lut[int(cls)] = True
    return lut


def min_pixels(area_ha: float, pixel_area_m2: float) -> int:
    """Smallest patch size in pixels that reaches ``area_ha`` (0 ha gives 0: keep all)."""
    if area_ha < 0 or pixel_area_m2 <= 0:
        raise ToolboxError(
            f"minimum mapping unit: need area >= 0 and pixel area > 0, "
            f"got {area_ha} ha, {pixel_area_m2} m2"
        )
    return math.ceil(area_ha * 10_000.0 / pixel_area_m2 - 1e-9)


def _structure(connectivity: int) -> np.ndarray:
    if connectivity == 8:
        return np.ones((3, 3), dtype=bool)
    if connectivity == 4:
        return np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], dtype=bool)
    raise ToolboxError(f"connectivity must be 4 or 8, got {connectivity}")


def label_burned(severity: np.ndarray, *, connectivity: int = 8) -> tuple[np.ndarray, int]:
    """Label connected burned patches (codes 4..7): int32 labels (0 = not burned) and count."""
    from scipy import ndimage

    burned = severity >= BURNED_CODES[0]
    labels, count = ndimage.label(burned, structure=_structure(connectivity))
    return labels.astype(np.int32, copy=False), int(count)


def remove_small_patches(
    severity: np.ndarray, min_size: int, *, connectivity: int = 8, inplace: bool = False
) -> tuple[np.ndarray, dict[str, int]]:
    """Set burned patches smaller than ``min_size`` pixels to unburned (code 3).

    A patch is a connected set of burned pixels (codes 4..7, any mix of classes). Masked pixels
    (code 0) are never changed.

    Parameters
    ----------
    severity
        uint8 class codes (2-D).
    min_size
        Minimum patch size in pixels (see :func:`min_pixels`); 0 or 1 keeps everything.
    connectivity
        4 or 8 (default, diagonal neighbours join a patch).
    inplace
        Clean ``severity`` itself instead of a copy.

    Returns
    -------
    (numpy.ndarray, dict)
        The cleaned map and counts ``patches_kept``, ``patches_removed``, ``pixels_removed``.
    """
    if severity.ndim != 2:
        raise ToolboxError(f"minimum mapping unit: expected a 2-D map, got shape {severity.shape}")
    out = severity if inplace else severity.copy()
    # label inside the bounding box of the burned pixels only (a fire is often a small part of
    # a tile; labelling costs in proportion to the area labelled)
    r0, r1, c0, c1 = _burned_bbox(severity)
    labels, count = label_burned(severity[r0:r1, c0:c1], connectivity=connectivity)
    if count == 0 or min_size <= 1:
        return out, {"patches_kept": count, "patches_removed": 0, "pixels_removed": 0}
    # sizes from the burned pixels only (a few percent of a tile), not the whole label image
    where = np.flatnonzero(labels)
    patch = labels.ravel()[where]
    sizes = np.bincount(patch, minlength=count + 1)
    small = sizes < min_size
    small[0] = False
    rows, cols = np.unravel_index(where[small[patch]], labels.shape)
    out[rows + r0, cols + c0] = UNBURNED
    removed = int(small.sum())
    return out, {
        "patches_kept": count - removed,
        "patches_removed": removed,
        "pixels_removed": int(sizes[small].sum()),
    }


def _pixel_area_m2(transform: Affine) -> float:
    return float(abs(transform.a * transform.e - transform.b * transform.d))


def _burned_bbox(
    severity: np.ndarray, min_code: int = BURNED_CODES[0]
) -> tuple[int, int, int, int]:
    """Rows ``r0:r1`` and columns ``c0:c1`` enclosing every pixel with a code >= ``min_code``
    (an empty box ``0, 0, 0, 0`` when there is none)."""
    hit = severity >= min_code
    rows = np.flatnonzero(hit.any(axis=1))
    if not rows.size:
        return 0, 0, 0, 0
    r0, r1 = int(rows[0]), int(rows[-1]) + 1
    cols = np.flatnonzero(hit[r0:r1].any(axis=0))
    return r0, r1, int(cols[0]), int(cols[-1]) + 1


def count_outside(values: np.ndarray, lo: float, hi: float) -> int:
    """Number of values below ``lo`` or above ``hi`` (NaN is not counted). One pass, no copy."""
    from rus.toolbox._burn_kernels import count_outside as _count

    return int(_count(_float_flat(values), lo, hi))


def _float_flat(values: np.ndarray) -> np.ndarray:
    """A flat contiguous view (or copy) of ``values`` for the numba kernels, in its own floating
    precision (float32 stays float32, float64 is not rounded); other types as float64."""
    dtype = values.dtype if values.dtype in (np.float32, np.float64) else np.float64
    return np.ascontiguousarray(values, dtype=dtype).ravel()


def vectorize_severity(
    severity: np.ndarray,
    transform: Affine,
    crs: Any,
    *,
    min_code: int = BURNED_CODES[0],
    connectivity: int = 8,
) -> gpd.GeoDataFrame:
    """Polygons of the burned classes (one per connected region of one class).

    Parameters
    ----------
    severity
        uint8 class codes.
    transform, crs
        Georeferencing of the map (projected CRS: areas are planar).
    min_code
        Lowest code vectorised (default 4, low severity).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``severity_code``, ``severity`` (class name), ``area_ha``, ``patch_id`` (the
        connected burned patch it belongs to, 1-based) and the geometry.
    """
    import geopandas as gpd
    import shapely
    from affine import Affine
    from rasterio import features
    from shapely.geometry import shape

    if severity.dtype != np.uint8:
        severity = severity.astype(np.uint8)
    # work on the bounding box of the burned pixels only (a fire is a small part of a tile)
    r0, r1, c0, c1 = _burned_bbox(severity, min_code)
    if r1 > r0:
        severity = np.ascontiguousarray(severity[r0:r1, c0:c1])
        transform = transform @ Affine.translation(c0, r0)
    labels, _ = label_burned(severity, connectivity=connectivity)
    mask = severity >= min_code
    geoms: list[Any] = []
    codes: list[int] = []
    for geom, value in features.shapes(
        severity, mask=mask, transform=transform, connectivity=connectivity
    ):
        geoms.append(shape(geom))
        codes.append(int(value))
    geom_array = np.asarray(geoms, dtype=object)
    patch = np.zeros(len(geoms), dtype=np.int32)
    if len(geoms):
        # a point in each polygon's interior falls in one of its pixels: read the patch label
        inside = shapely.point_on_surface(geom_array)
        x, y = shapely.get_x(inside), shapely.get_y(inside)
        inv = ~transform
        cols = inv.a * x + inv.b * y + inv.c
        rows = inv.d * x + inv.e * y + inv.f
        r = np.clip(np.floor(rows).astype(np.int64), 0, labels.shape[0] - 1)
        c = np.clip(np.floor(cols).astype(np.int64), 0, labels.shape[1] - 1)
        patch = labels[r, c]
    return gpd.GeoDataFrame(
        {
            "severity_code": np.asarray(codes, dtype=np.int32),
            "severity": [class_by_code(v).name for v in codes],
            "area_ha": shapely.area(geom_array).astype(np.float64) / 10_000.0
            if len(geoms)
            else np.zeros(0),
            "patch_id": patch,
        },
        geometry=list(geom_array),
        crs=crs,
    )


def burned_perimeters(patches: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Dissolve class polygons into burned-patch perimeters.

    Parameters
    ----------
    patches
        Output of :func:`vectorize_severity`.

    Returns
    -------
    geopandas.GeoDataFrame
        One feature per patch: ``patch_id``, ``area_ha``, ``dominant_severity_code`` (class with
        the largest area in the patch), ``dominant_severity``.
    """
    import geopandas as gpd

    if patches.empty:
        return gpd.GeoDataFrame(
            {"patch_id": [], "area_ha": [], "dominant_severity_code": [], "dominant_severity": []},
            geometry=[],
            crs=patches.crs,
        )
    by = patches.groupby(["patch_id", "severity_code"])["area_ha"].sum().reset_index()
    dominant = by.sort_values("area_ha").groupby("patch_id").tail(1).set_index("patch_id")
    dissolved = patches[["patch_id", "geometry"]].dissolve(by="patch_id")
    dissolved["area_ha"] = dissolved.geometry.area / 10_000.0
    dissolved["dominant_severity_code"] = dominant.loc[dissolved.index, "severity_code"].astype(
        np.int32
    )
    dissolved["dominant_severity"] = [
        class_by_code(int(c)).name for c in dissolved["dominant_severity_code"]
    ]
    return dissolved.reset_index()


def class_statistics(
    severity: np.ndarray,
    pixel_area_m2: float,
    *,
    index: np.ndarray | None = None,
    index_name: str = "index",
) -> dict[str, Any]:
    """Per-class areas and fractions of a severity map.

    Parameters
    ----------
    severity
        uint8 class codes.
    pixel_area_m2
        Area of one pixel.
    index
        Optional index (e.g. RBR) on the same grid: per-class mean is reported.
    index_name
        Name used for the mean in each class entry (``mean_<index_name>``).

    Returns
    -------
    dict
        ``classes`` (code -> key, name, pixels, hectares, percent_of_valid), ``burned_ha``
        (codes 4..7), ``valid_pixels``, ``masked_pixels``, ``masked_fraction``, ``total_pixels``.
    """
    n_classes = len(SEVERITY_CLASSES)
    means: dict[int, float | None] = {}
    if index is not None:
        if index.shape != severity.shape:
            raise ToolboxError(
                f"statistics: index shape {index.shape} differs from map {severity.shape}"
            )
        from rus.toolbox._burn_kernels import class_sums

        counts, sums, finite = class_sums(
            np.ascontiguousarray(severity, dtype=np.uint8).ravel(),
            _float_flat(index),
            n_classes,
        )
        for c in SEVERITY_CLASSES[1:]:
            n_fin = int(finite[c.code])
            means[c.code] = float(sums[c.code] / n_fin) if n_fin else None
    else:
        counts = np.bincount(severity.ravel(), minlength=n_classes)
    total = int(severity.size)
    masked = int(counts[MASKED])
    valid = total - masked
    ha = pixel_area_m2 / 10_000.0
    classes: dict[str, Any] = {}
    for c in SEVERITY_CLASSES:
        n = int(counts[c.code])
        entry: dict[str, Any] = {
            "key": c.key,
            "name": c.name,
            "pixels": n,
            "hectares": round(n * ha, 4),
            "percent_of_valid": (round(100.0 * n / valid, 4) if valid and c.code else None),
        }
        if index is not None and c.code:
            entry[f"mean_{index_name}"] = means[c.code]
        classes[str(c.code)] = entry
    burned_px = int(sum(counts[c] for c in BURNED_CODES))
    return {
        "classes": classes,
        "burned_pixels": burned_px,
        "burned_ha": round(burned_px * ha, 4),
        "valid_pixels": valid,
        "masked_pixels": masked,
        "masked_fraction": round(masked / total, 6) if total else 0.0,
        "total_pixels": total,
        "pixel_area_m2": pixel_area_m2,
    }


def severity_colormap() -> dict[int, tuple[int, int, int, int]]:
    """GDAL colour table of the classes (code -> RGBA); code 0 transparent."""
    out: dict[int, tuple[int, int, int, int]] = {}
    for c in SEVERITY_CLASSES:
        rgb = c.color.lstrip("#")
        alpha = 0 if c.code == MASKED else 255
        out[c.code] = (int(rgb[0:2], 16), int(rgb[2:4], 16), int(rgb[4:6], 16), alpha)
    return out


def class_names() -> Mapping[int, str]:
    """Code -> human-readable class name."""
    return {c.code: c.name for c in SEVERITY_CLASSES}
