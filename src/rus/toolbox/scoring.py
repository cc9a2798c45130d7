"""Detection scoring after the xView3 reference metric.

Predictions are matched one-to-one to truth points by the Hungarian algorithm on their distance;
a pair counts only if closer than 200 m. From the matches: precision, recall, F1; the length
score ``1 - min(mean relative length error, 1)`` over matched pairs (lengths capped at 500 m);
and the F1 restricted to targets within 2 km of the shore.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from rus.toolbox.errors import ToolboxError

EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class Matches:
    """One-to-one matches: indices into truth and predictions, and their distance (m)."""

    truth: npt.NDArray[np.int64]
    pred: npt.NDArray[np.int64]
    distance_m: npt.NDArray[np.float64]


@dataclass(frozen=True)
class ShipScore:
    """Scores of a detection run against the truth.

    Attributes
    ----------
    n_truth, n_pred
        Truth targets counted (after the size filter) and predictions counted.
    tp, fp, fn
        True positives, false alarms, misses.
    precision, recall, f1
        Usual definitions (NaN where undefined, e.g. no truth and no prediction).
    length_score
        ``1 - min(mean relative length error, 1)`` over the counted matches (NaN if none).
    length_mean_rel_error
        Mean of ``|pred - truth| / truth`` (lengths capped at 500 m).
    close_to_shore_f1
        F1 over targets within ``shore_km`` of land (NaN when none on either side).
    mean_match_distance_m
        Mean distance of the counted matches.
    """

    n_truth: int
    n_pred: int
    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f1: float
    length_score: float
    length_mean_rel_error: float
    close_to_shore_f1: float
    mean_match_distance_m: float

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-friendly; NaN become None)."""
        return {
            k: (None if isinstance(v, float) and math.isnan(v) else v)
            for k, v in asdict(self).items()
        }


def distance_matrix_m(
    lon1: npt.ArrayLike, lat1: npt.ArrayLike, lon2: npt.ArrayLike, lat2: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Great-circle (haversine) distances in metres between two point sets, shape (n1, n2)."""
    a1 = np.radians(np.asarray(lat1, np.float64))[:, None]
    a2 = np.radians(np.asarray(lat2, np.float64))[None, :]
    o1 = np.radians(np.asarray(lon1, np.float64))[:, None]
    o2 = np.radians(np.asarray(lon2, np.float64))[None, :]
    h = np.sin((a2 - a1) / 2) ** 2 + np.cos(a1) * np.cos(a2) * np.sin((o2 - o1) / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0, 1))), np.float64)


def match_points(
    truth_lonlat: tuple[npt.ArrayLike, npt.ArrayLike],
    pred_lonlat: tuple[npt.ArrayLike, npt.ArrayLike],
    *,
    max_distance_m: float = 200.0,
) -> Matches:
    """Hungarian one-to-one matching on distance; pairs farther than ``max_distance_m`` dropped.

    Parameters
    ----------
    truth_lonlat, pred_lonlat
        ``(lon, lat)`` arrays in degrees.
    max_distance_m
        Gate (xView3: 200 m).
    """
    from scipy.optimize import linear_sum_assignment

    if not max_distance_m > 0:
        raise ToolboxError(f"scoring: the match distance must be > 0 m, got {max_distance_m}")
    tl, ta = (np.atleast_1d(np.asarray(v, np.float64)) for v in truth_lonlat)
    pl, pa = (np.atleast_1d(np.asarray(v, np.float64)) for v in pred_lonlat)
    empty = Matches(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    if tl.size == 0 or pl.size == 0:
        return empty
    d = distance_matrix_m(tl, ta, pl, pa)
    gated = np.where(d < max_distance_m, d, 1e12)
    ti, pi = linear_sum_assignment(gated)
    ok = d[ti, pi] < max_distance_m
    return Matches(ti[ok].astype(np.int64), pi[ok].astype(np.int64), d[ti[ok], pi[ok]])


def _f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else math.nan
    r = tp / (tp + fn) if tp + fn else math.nan
    if tp + fp + fn == 0:
        return math.nan, math.nan, math.nan
    f = 2 * tp / (2 * tp + fp + fn)
    return p, r, f


def near_shore(lon: npt.ArrayLike, lat: npt.ArrayLike, radius_m: float) -> npt.NDArray[np.bool_]:
    """True where land (GSHHG) lies within ``radius_m`` of the point (sampled on 10 rings)."""
    from rus.products.landmask import is_land

    lo = np.atleast_1d(np.asarray(lon, np.float64))
    la = np.atleast_1d(np.asarray(lat, np.float64))
    if lo.size == 0:
        return np.zeros(0, bool)
    radii = np.linspace(0.0, radius_m, 11)[1:]
    ang = np.radians(np.arange(0, 360, 10.0))
    dn = radii[:, None] * np.cos(ang)[None, :]
    de = radii[:, None] * np.sin(ang)[None, :]
    dlat = np.degrees(dn / EARTH_RADIUS_M).ravel()
    coslat = np.cos(np.radians(la))[:, None]
    dlon = np.degrees(de.ravel()[None, :] / (EARTH_RADIUS_M * np.maximum(coslat, 1e-6)))
    land = is_land(lo[:, None] + dlon, la[:, None] + dlat[None, :]) | is_land(lo, la)[:, None]
    return np.asarray(land.any(axis=1), bool)


def score_ships(
    truth: Any,
    pred: Any,
    *,
    max_distance_m: float = 200.0,
    min_length_m: float | None = None,
    length_field: str = "length_m",
    pred_length_field: str = "length_m",
    length_cap_m: float = 500.0,
    shore_km: float | None = 2.0,
) -> ShipScore:
    """xView3-style scores of predicted ship points against truth points.

    Parameters
    ----------
    truth, pred
        GeoDataFrames of points (any CRS; reprojected to lon/lat).
    max_distance_m
        Match gate.
    min_length_m
        Count only truth ships at least this long; predictions matched to shorter truth ships
        are neither hits nor false alarms (ignored).
    length_field, pred_length_field
        Length attributes (metres) of truth and predictions.
    length_cap_m
        Lengths are capped here before the relative error (xView3: 500 m).
    shore_km
        Radius for the close-to-shore F1 (None skips it).

    Returns
    -------
    ShipScore
    """
    tlon, tlat = _lonlat(truth)
    plon, plat = _lonlat(pred)
    m = match_points((tlon, tlat), (plon, plat), max_distance_m=max_distance_m)
    tlen = _lengths(truth, length_field)
    counted_truth = np.ones(tlon.size, bool)
    if min_length_m is not None:
        if np.isnan(tlen).all() and tlon.size:
            raise ToolboxError(f"scoring: truth has no {length_field!r} to filter by length")
        counted_truth = ~(tlen < min_length_m)
    ignored_pred = np.zeros(plon.size, bool)
    ignored_pred[m.pred[~counted_truth[m.truth]]] = True
    hit = counted_truth[m.truth]
    tp = int(hit.sum())
    fn = int(counted_truth.sum()) - tp
    fp = int(plon.size - ignored_pred.sum()) - tp
    precision, recall, f1 = _f1(tp, fp, fn)

    plen = _lengths(pred, pred_length_field)
    tl = np.minimum(tlen[m.truth[hit]], length_cap_m)
    pl = np.minimum(plen[m.pred[hit]], length_cap_m)
    ok = np.isfinite(tl) & np.isfinite(pl) & (tl > 0)
    rel = np.abs(pl[ok] - tl[ok]) / tl[ok]
    mre = float(rel.mean()) if rel.size else math.nan
    length_score = 1.0 - min(mre, 1.0) if rel.size else math.nan

    shore_f1 = math.nan
    if shore_km is not None and (tlon.size or plon.size):
        t_near = near_shore(tlon, tlat, shore_km * 1000.0) & counted_truth
        p_near = near_shore(plon, plat, shore_km * 1000.0) & ~ignored_pred
        both = hit & t_near[m.truth] & p_near[m.pred]
        s_tp = int(both.sum())
        _, _, shore_f1 = _f1(s_tp, int(p_near.sum()) - s_tp, int(t_near.sum()) - s_tp)
    dist = float(m.distance_m[hit].mean()) if tp else math.nan
    return ShipScore(
        n_truth=int(counted_truth.sum()),
        n_pred=int(plon.size - ignored_pred.sum()),
        tp=tp,
        fp=fp,
        fn=fn,
        precision=precision,
        recall=recall,
        f1=f1,
        length_score=length_score,
        length_mean_rel_error=mre,
        close_to_shore_f1=shore_f1,
        mean_match_distance_m=dist,
    )


def _lonlat(gdf: Any) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    if len(gdf) == 0:
        return np.zeros(0), np.zeros(0)
    g = gdf.to_crs(4326) if gdf.crs is not None and gdf.crs.to_epsg() != 4326 else gdf
    geom = g.geometry
    if not (geom.geom_type == "Point").all():
        geom = geom.centroid
    return np.asarray(geom.x, np.float64), np.asarray(geom.y, np.float64)


def _lengths(gdf: Any, name: str) -> npt.NDArray[np.float64]:
    if name in getattr(gdf, "columns", ()):
        return np.asarray(gdf[name], dtype=np.float64)
    return np.full(len(gdf), np.nan)
