"""Per-ship attributes: position, SNAP and corrected length/width, heading, backscatter.

Why a correction (see ``docs/ship-detection.md``): the CFAR compares the *mean of the target
window* with the threshold, so a bright ship is flagged wherever the window touches it and its
cluster is the ship grown by about half a target window on every side, plus the blur of the
radar's point-spread function (PSF) and azimuth sidelobes. SNAP's bounding box of the cluster
is therefore biased high (a 150 x 20 m ship comes out near 210 x 80 m) and is not aligned with
the ship.

How: the ship's extent is taken from the *intensity* of its pixels, not from the cluster's
outline. Each pixel weighs ``max(sigma0 - ring mean, 0)``, so the grown rim of sea pixels weighs
almost nothing. The weighted second-moment (covariance) matrix of pixel positions in metres is
the ship's own plus the PSF's (moments add under convolution); we subtract the PSF's,
``diag((res_az / 2.355)^2, (res_rg / 2.355)^2)`` for a resolution ``res`` given as the FWHM,
and take the eigenvectors (orientation, hence heading, 180-degree ambiguous) and eigenvalues
``l1 >= l2``. A uniform rectangle of length ``L`` has variance ``L^2 / 12`` along its axis, so
``length = sqrt(12 l1)`` and ``width = sqrt(12 l2)``, never less than one pixel's extent in
that direction.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from rus.toolbox.sar.cluster import PixelTable
from rus.toolbox.sar.discrimination import ClusterBoxes

ToLonLat = Callable[
    [npt.NDArray[np.float64], npt.NDArray[np.float64]],
    tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]],
]

#: Gaussian FWHM / sigma.
FWHM_TO_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))

#: Column name -> (unit, description): the attribute table of a detection run.
SHIP_COLUMNS: dict[str, tuple[str, str]] = {
    "id": ("1", "ship number in the run, 1.. in image row-major order"),
    "lon": ("degree_east", "longitude of the ship centre (WGS84)"),
    "lat": ("degree_north", "latitude of the ship centre (WGS84)"),
    "row": ("pixel", "image row (azimuth line) of the centre, intensity weighted"),
    "col": ("pixel", "image column (range pixel) of the centre, intensity weighted"),
    "length_snap_m": ("m", "SNAP length: azimuth extent of the cluster bounding box"),
    "width_snap_m": ("m", "SNAP width: range extent of the cluster bounding box"),
    "size_snap_m": ("m", "SNAP size sqrt(length^2 + width^2), used by the size test"),
    "length_m": ("m", "length from PSF-corrected intensity moments along the ship axis"),
    "width_m": ("m", "width from PSF-corrected intensity moments across the ship axis"),
    "heading_deg": ("degree", "axis direction clockwise from north, 0-180 (180-degree ambiguous)"),
    "peak_sigma0_db": ("dB", "brightest pixel of the ship (sigma0 or input intensity)"),
    "mean_sigma0_db": ("dB", "mean intensity of the ship's pixels"),
    "clutter_sigma0_db": ("dB", "mean of the CFAR background ring around the ship"),
    "contrast_db": ("dB", "mean_sigma0_db - clutter_sigma0_db"),
    "npix": ("1", "number of detected pixels in the cluster"),
    "distance_to_coast_m": ("m", "distance to the nearest land pixel of the mask (NaN: none)"),
}


def _db(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(10.0 * np.log10(x), dtype=np.float64)


def _group_sum(labels: npt.NDArray[np.int64], w: npt.ArrayLike, n: int) -> npt.NDArray[np.float64]:
    out = np.bincount(labels, weights=np.asarray(w, dtype=np.float64), minlength=n)
    return np.asarray(out, dtype=np.float64)


def _bearing(
    to_lonlat: ToLonLat,
    rows: npt.NDArray[np.float64],
    cols: npt.NDArray[np.float64],
    drow: npt.NDArray[np.float64],
    dcol: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Geographic direction (0-180 degrees from north) of image vectors at image positions."""
    from pyproj import Geod

    lon0, lat0 = to_lonlat(rows - drow, cols - dcol)
    lon1, lat1 = to_lonlat(rows + drow, cols + dcol)
    az, _, _ = Geod(ellps="WGS84").inv(lon0, lat0, lon1, lat1)
    return np.asarray(np.mod(az, 180.0), dtype=np.float64)


def ship_attributes(
    pixels: PixelTable,
    labels: npt.NDArray[np.int64],
    boxes: ClusterBoxes,
    keep: npt.NDArray[np.bool_],
    *,
    spacing: tuple[float, float],
    resolution: tuple[float, float],
    to_lonlat: ToLonLat,
) -> Any:
    """Attribute table (pandas DataFrame, columns :data:`SHIP_COLUMNS` minus distance) of kept
    clusters.

    Parameters
    ----------
    pixels
        Flagged pixels with intensity and ring mean.
    labels
        Cluster label of each pixel (0..n-1).
    boxes
        Bounding boxes per label.
    keep
        Clusters that passed discrimination.
    spacing
        ``(azimuth, range)`` pixel spacing in metres.
    resolution
        ``(azimuth, range)`` resolution (FWHM of the point-spread function) in metres;
        Sentinel-1 IW GRDH: about (22, 20).
    to_lonlat
        ``(rows, cols) -> (lon, lat)`` of the image.

    Returns
    -------
    pandas.DataFrame, one row per kept cluster, ordered by label.
    """
    import pandas as _pd  # type: ignore[import-untyped]

    pd: Any = _pd

    n = int(boxes.npix.size)
    cols_out = [c for c in SHIP_COLUMNS if c != "distance_to_coast_m"]
    if n == 0 or not keep.any():
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols_out}).astype(
            {"id": "int64", "npix": "int64"}
        )
    az, rg = float(spacing[0]), float(spacing[1])
    sel = keep[labels]
    lab_all = labels[sel]
    remap = np.full(n, -1, np.int64)
    kept_ids = np.nonzero(keep)[0]
    remap[kept_ids] = np.arange(kept_ids.size)
    lab = remap[lab_all]
    m = kept_ids.size
    r = pixels.rows[sel].astype(np.float64)
    c = pixels.cols[sel].astype(np.float64)
    v = pixels.value[sel].astype(np.float64)
    clut = pixels.clutter[sel].astype(np.float64)
    npix = np.bincount(lab, minlength=m)

    # Weights: clutter-subtracted intensity (the grown rim of sea pixels weighs ~0).
    w = np.clip(v - np.nan_to_num(clut, nan=0.0), 0.0, None)
    wsum = _group_sum(lab, w, m)
    flat = wsum <= 0
    if flat.any():
        w = np.where(flat[lab], 1.0, w)
        wsum = _group_sum(lab, w, m)
    rc = _group_sum(lab, w * r, m) / wsum
    cc = _group_sum(lab, w * c, m) / wsum
    y = (r - rc[lab]) * az
    x = (c - cc[lab]) * rg
    syy = _group_sum(lab, w * y * y, m) / wsum
    sxx = _group_sum(lab, w * x * x, m) / wsum
    sxy = _group_sum(lab, w * x * y, m) / wsum
    # Remove the point-spread function: second moments add under convolution.
    s_az2, s_rg2 = (resolution[0] / FWHM_TO_SIGMA) ** 2, (resolution[1] / FWHM_TO_SIGMA) ** 2
    cyy, cxx = syy - s_az2, sxx - s_rg2
    theta = 0.5 * np.arctan2(2.0 * sxy, cyy - cxx)  # main axis angle from the row axis
    half_trace = 0.5 * (cyy + cxx)
    root = np.sqrt(0.25 * (cyy - cxx) ** 2 + sxy**2)
    lam1, lam2 = half_trace + root, half_trace - root
    uy, ux = np.cos(theta), np.sin(theta)  # main axis (metres): along rows, along columns
    foot_l = az * np.abs(uy) + rg * np.abs(ux)  # one pixel's extent along the main axis
    foot_w = az * np.abs(ux) + rg * np.abs(uy)
    length = np.maximum(np.sqrt(12.0 * np.clip(lam1, 0.0, None)), foot_l)
    width = np.minimum(np.maximum(np.sqrt(12.0 * np.clip(lam2, 0.0, None)), foot_w), length)
    # Direction of the main axis in pixels, for the geographic heading.
    dir_y, dir_x = uy / az, ux / rg
    lon, lat = to_lonlat(rc, cc)
    heading = _bearing(to_lonlat, rc, cc, 5.0 * dir_y, 5.0 * dir_x)

    length_snap, width_snap = boxes.snap_length_width(spacing)
    peak = np.full(m, -np.inf)
    np.maximum.at(peak, lab, v)
    mean_v = _group_sum(lab, v, m) / npix
    clut_ok = np.isfinite(clut)
    mean_clut = _group_sum(lab, np.where(clut_ok, clut, 0.0), m) / np.maximum(
        np.bincount(lab, weights=clut_ok.astype(np.float64), minlength=m), 1
    )
    mean_db = _db(mean_v)
    clut_db = _db(mean_clut)
    return pd.DataFrame(
        {
            "id": np.arange(1, m + 1, dtype=np.int64),
            "lon": np.asarray(lon, np.float64),
            "lat": np.asarray(lat, np.float64),
            "row": rc,
            "col": cc,
            "length_snap_m": length_snap[kept_ids],
            "width_snap_m": width_snap[kept_ids],
            "size_snap_m": np.hypot(length_snap[kept_ids], width_snap[kept_ids]),
            "length_m": length,
            "width_m": width,
            "heading_deg": heading,
            "peak_sigma0_db": _db(peak),
            "mean_sigma0_db": mean_db,
            "clutter_sigma0_db": clut_db,
            "contrast_db": mean_db - clut_db,
            "npix": npix.astype(np.int64),
        }
    )
