"""Clustering is 8-connected and exact across chunk boundaries."""

from __future__ import annotations

import numpy as np
import pytest

from rus.toolbox.sar.cluster import label_mask, label_pixels
from rus.toolbox.sar.discrimination import cluster_boxes, discriminate


def _canonical(rows: np.ndarray, cols: np.ndarray, labels: np.ndarray) -> set[frozenset[int]]:
    width = int(cols.max()) + 1 if cols.size else 1
    groups: dict[int, set[int]] = {}
    for r, c, lab in zip(rows, cols, labels, strict=True):
        groups.setdefault(int(lab), set()).add(int(r) * width + int(c))
    return {frozenset(g) for g in groups.values()}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_label_pixels_matches_scipy_8_connectivity(seed: int) -> None:
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    mask = rng.random((60, 70)) < 0.35
    ref, n_ref = ndimage.label(mask, structure=np.ones((3, 3)))
    rows, cols = np.nonzero(mask)
    labels, n = label_pixels(rows, cols)
    assert n == n_ref
    assert _canonical(rows, cols, labels) == _canonical(rows, cols, ref[rows, cols])


def test_diagonal_touch_is_one_cluster_and_gap_is_two() -> None:
    rows = np.array([0, 1, 5])
    cols = np.array([0, 1, 5])
    labels, n = label_pixels(rows, cols)
    assert n == 2
    assert labels[0] == labels[1] != labels[2]


def test_empty_input() -> None:
    labels, n = label_pixels(np.zeros(0, int), np.zeros(0, int))
    assert n == 0 and labels.size == 0


@pytest.mark.parametrize("chunks", [(5, 5), (7, 3), (40, 40), (1, 40)])
def test_blob_across_chunk_corners_is_reported_once(chunks: tuple[int, int]) -> None:
    import dask.array as da

    mask = np.zeros((40, 40), bool)
    mask[3:12, 3:12] = True  # crosses the chunk corners at (5, 5) and (10, 10)
    mask[20, 20:35] = True  # a thin line across many chunks
    mask[30, 30] = mask[31, 31] = True  # diagonal pair across the (30, 30) boundary
    table, labels, n = label_mask(da.from_array(mask, chunks=chunks))
    assert n == 3
    assert len(table) == mask.sum()
    boxes = cluster_boxes(table.rows, table.cols, labels, n)
    assert sorted(boxes.npix.tolist()) == [2, 15, 81]


def test_numbering_does_not_depend_on_chunking() -> None:
    import dask.array as da

    rng = np.random.default_rng(5)
    mask = rng.random((50, 50)) < 0.1
    results = []
    for chunks in [(50, 50), (9, 13)]:
        table, labels, _ = label_mask(da.from_array(mask, chunks=chunks))
        order = np.lexsort((table.cols, table.rows))
        results.append(labels[order])
    np.testing.assert_array_equal(results[0], results[1])


def test_discrimination_uses_snap_bounding_box() -> None:
    rows = np.array([0, 1, 2, 10])
    cols = np.array([0, 0, 0, 10])
    labels, n = label_pixels(rows, cols)
    boxes = cluster_boxes(rows, cols, labels, n)
    length, width = boxes.snap_length_width((10.0, 10.0))
    assert length.tolist() == [30.0, 10.0]
    assert width.tolist() == [10.0, 10.0]
    keep = discriminate(boxes, (10.0, 10.0), 30.0, 600.0)
    assert keep.tolist() == [True, False]  # sqrt(30^2 + 10^2) = 31.6 m >= 30; 14.1 m < 30
