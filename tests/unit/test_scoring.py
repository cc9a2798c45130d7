"""xView3-style scoring: Hungarian matching within 200 m, F1, length score."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest

from rus.toolbox.errors import ToolboxError
from rus.toolbox.scoring import match_points, score_ships

LAT0, LON0 = 45.0, 13.3  # open Adriatic, far from land
M_PER_DEG_LAT = 111_195.0


def _pts(
    east_north_m: list[tuple[float, float]], lengths: list[float] | None = None
) -> gpd.GeoDataFrame:
    lon = [LON0 + e / (M_PER_DEG_LAT * math.cos(math.radians(LAT0))) for e, _ in east_north_m]
    lat = [LAT0 + n / M_PER_DEG_LAT for _, n in east_north_m]
    data = {"length_m": lengths} if lengths is not None else {}
    return gpd.GeoDataFrame(data, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def test_perfect_detection() -> None:
    truth = _pts([(0, 0), (1000, 0), (0, 2000)], [100, 200, 50])
    s = score_ships(truth, truth.copy(), shore_km=None)
    assert (s.tp, s.fp, s.fn) == (3, 0, 0)
    assert s.f1 == 1.0 and s.length_score == 1.0


def test_gate_and_duplicates() -> None:
    truth = _pts([(0, 0), (5000, 0)], [100, 100])
    pred = _pts([(50, 0), (-60, 0), (5250, 0)], [120, 100, 100])  # duplicate; one beyond 200 m
    s = score_ships(truth, pred, shore_km=None)
    assert (s.tp, s.fp, s.fn) == (1, 2, 1)
    assert s.precision == pytest.approx(1 / 3)
    assert s.recall == pytest.approx(0.5)
    assert s.f1 == pytest.approx(2 * 1 / (2 * 1 + 2 + 1))
    assert s.length_mean_rel_error == pytest.approx(0.2)  # the 50 m one (120 vs 100) is nearer
    assert s.length_score == pytest.approx(0.8)


def test_hungarian_beats_greedy() -> None:
    # Greedy nearest would pair P0-T1 (10 m) and leave T0 unmatched (P1 is 250 m from T0).
    truth = np.array([[0.0, 0.0], [150.0, 0.0]])
    pred = np.array([[140.0, 0.0], [290.0, 0.0]])
    tl = _pts([tuple(p) for p in truth])
    pl = _pts([tuple(p) for p in pred])
    m = match_points((tl.geometry.x, tl.geometry.y), (pl.geometry.x, pl.geometry.y))
    assert sorted(zip(m.truth.tolist(), m.pred.tolist(), strict=True)) == [(0, 0), (1, 1)]


def test_min_length_ignores_small_truth() -> None:
    truth = _pts([(0, 0), (3000, 0), (6000, 0)], [20, 100, 150])
    pred = _pts([(0, 0), (3000, 0)], [60, 110])
    s = score_ships(truth, pred, min_length_m=30, shore_km=None)
    # the 20 m ship is ignored: its match is neither a hit nor a false alarm
    assert (s.n_truth, s.n_pred, s.tp, s.fp, s.fn) == (2, 1, 1, 0, 1)


def test_lengths_capped_at_500() -> None:
    truth = _pts([(0, 0)], [600])
    pred = _pts([(0, 0)], [900])
    assert score_ships(truth, pred, shore_km=None).length_score == 1.0


def test_empty_sets() -> None:
    empty = _pts([], [])
    s = score_ships(empty, empty, shore_km=None)
    assert s.tp == 0 and math.isnan(s.f1)
    s2 = score_ships(_pts([(0, 0)], [50]), empty, shore_km=None)
    assert s2.recall == 0.0 and s2.f1 == 0.0


def test_close_to_shore_f1() -> None:
    # one ship 500 m off Trieste's waterfront, one in the open Adriatic
    truth = gpd.GeoDataFrame(
        {"length_m": [80.0, 80.0]},
        geometry=gpd.points_from_xy([13.745, 13.0], [45.652, 45.0]),
        crs="EPSG:4326",
    )
    pred = truth.iloc[[1]].copy()
    s = score_ships(truth, pred)
    assert s.f1 == pytest.approx(2 / 3)
    assert s.close_to_shore_f1 == 0.0


def test_bad_gate() -> None:
    with pytest.raises(ToolboxError):
        match_points(([0.0], [0.0]), ([0.0], [0.0]), max_distance_m=0)
