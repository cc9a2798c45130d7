"""8-connected clustering of detected pixels, exact across chunk boundaries.

Detections are sparse, so each chunk only hands back the coordinates (and values) of its flagged
pixels; the clusters are then formed once, globally, from those coordinates: two pixels are
linked when they touch (8-connectivity) and the components of that graph are the targets. A
target that straddles chunks is therefore one cluster, never two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from rus.toolbox.errors import ToolboxError


@dataclass(frozen=True)
class PixelTable:
    """Flagged pixels of an image, with the values the attributes need.

    Attributes
    ----------
    rows, cols
        Pixel indices (int64) in the full image.
    value
        Intensity at the pixel (linear, float32).
    clutter
        CFAR ring mean at the pixel (linear, float32).
    """

    rows: npt.NDArray[np.int64]
    cols: npt.NDArray[np.int64]
    value: npt.NDArray[np.float32]
    clutter: npt.NDArray[np.float32]

    def __len__(self) -> int:
        return int(self.rows.size)

    @staticmethod
    def concat(parts: list[PixelTable]) -> PixelTable:
        """Join tables (one per chunk) into one."""
        if not parts:
            return PixelTable(
                np.zeros(0, np.int64),
                np.zeros(0, np.int64),
                np.zeros(0, np.float32),
                np.zeros(0, np.float32),
            )
        return PixelTable(
            np.concatenate([p.rows for p in parts]),
            np.concatenate([p.cols for p in parts]),
            np.concatenate([p.value for p in parts]),
            np.concatenate([p.clutter for p in parts]),
        )


def block_pixels(
    flag: npt.NDArray[np.bool_],
    value: npt.NDArray[np.floating[Any]],
    clutter: npt.NDArray[np.floating[Any]],
    row0: int,
    col0: int,
) -> PixelTable:
    """The flagged pixels of one chunk whose top-left pixel is ``(row0, col0)``."""
    r, c = np.nonzero(flag)
    return PixelTable(
        (r + row0).astype(np.int64),
        (c + col0).astype(np.int64),
        np.asarray(value[r, c], dtype=np.float32),
        np.asarray(clutter[r, c], dtype=np.float32),
    )


def pixel_table_delayed(flag: Any, value: Any, clutter: Any) -> list[Any]:
    """One delayed :class:`PixelTable` per chunk of three aligned 2-D dask arrays.

    Compute them together with other outputs (``dask.compute``) so that chunks are read once;
    join the results with :meth:`PixelTable.concat`.
    """
    import dask as _dask

    dask: Any = _dask
    import dask.array as _da

    da: Any = _da

    flag = da.asarray(flag)
    value = da.asarray(value).rechunk(flag.chunks)
    clutter = da.asarray(clutter).rechunk(flag.chunks)
    if flag.ndim != 2:
        raise ToolboxError(f"clustering expects a 2-D mask, got shape {flag.shape}")
    starts = [np.concatenate([[0], np.cumsum(c)[:-1]]) for c in flag.chunks]
    fb, vb, cb = flag.to_delayed(), value.to_delayed(), clutter.to_delayed()
    out = []
    fn = dask.delayed(block_pixels, pure=True)
    for i, r0 in enumerate(starts[0]):
        for j, c0 in enumerate(starts[1]):
            out.append(fn(fb[i, j], vb[i, j], cb[i, j], int(r0), int(c0)))
    return out


def label_pixels(
    rows: npt.NDArray[np.integer[Any]], cols: npt.NDArray[np.integer[Any]]
) -> tuple[npt.NDArray[np.int64], int]:
    """8-connected component labels of a set of pixels given by coordinates.

    Parameters
    ----------
    rows, cols
        Pixel indices (no duplicates).

    Returns
    -------
    (labels, n): label 0..n-1 per input pixel, numbered in the order of each cluster's first
    pixel in row-major order (so the numbering does not depend on chunking).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    r = np.asarray(rows, dtype=np.int64)
    c = np.asarray(cols, dtype=np.int64)
    n = r.size
    if n == 0:
        return np.zeros(0, np.int64), 0
    width = int(c.max()) + 3
    key = (r + 1) * width + (c + 1)
    order = np.argsort(key, kind="stable")
    skey = key[order]
    src, dst = [], []
    # Forward neighbours only (the graph is undirected): E, SW, S, SE.
    for dr, dc in ((0, 1), (1, -1), (1, 0), (1, 1)):
        target = skey + dr * width + dc
        pos = np.searchsorted(skey, target)
        pos_c = np.minimum(pos, n - 1)
        hit = skey[pos_c] == target
        src.append(np.nonzero(hit)[0])
        dst.append(pos_c[hit])
    s = np.concatenate(src)
    d = np.concatenate(dst)
    graph = coo_matrix((np.ones(s.size, np.int8), (s, d)), shape=(n, n))
    ncomp, lab_sorted = connected_components(graph, directed=False)
    # Renumber by first appearance in row-major order (deterministic, chunk-independent).
    first = np.full(ncomp, n, dtype=np.int64)
    np.minimum.at(first, lab_sorted, np.arange(n))
    rank = np.empty(ncomp, np.int64)
    rank[np.argsort(first)] = np.arange(ncomp)
    labels = np.empty(n, np.int64)
    labels[order] = rank[lab_sorted]
    return labels, int(ncomp)


def label_mask(mask: Any) -> tuple[PixelTable, npt.NDArray[np.int64], int]:
    """Cluster a 2-D bool mask (numpy or dask) into 8-connected targets.

    Returns
    -------
    (pixels, labels, n): the flagged pixels (values are the mask itself), their labels, the count.
    """
    import dask as _dask

    dask: Any = _dask
    import dask.array as _da

    da: Any = _da

    m = da.asarray(mask)
    zeros = da.zeros(m.shape, chunks=m.chunks, dtype=np.float32)
    parts = dask.compute(*pixel_table_delayed(m, m.astype(np.float32), zeros))
    table = PixelTable.concat(list(parts))
    labels, n = label_pixels(table.rows, table.cols)
    return table, labels, n
