"""Numba kernels of the SAR toolbox (imported lazily: importing this module imports numba).

Compiled on first use and cached on disk (``cache=True``); every kernel releases the GIL
(``nogil=True``) so dask's threads run them in parallel.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt


@numba.njit(nogil=True, cache=True)  # type: ignore[untyped-decorator]
def _update_columns(
    x: npt.NDArray[np.float32],
    row: int,
    sign: float,
    cs: npt.NDArray[np.float64],
    cq: npt.NDArray[np.float64],
    cn: npt.NDArray[np.float64],
) -> None:
    for j in range(x.shape[1]):
        v = x[row, j]
        if v == v:
            vd = np.float64(v)
            cs[j] += sign * vd
            cq[j] += sign * vd * vd
            cn[j] += sign


@numba.njit(nogil=True, cache=True)  # type: ignore[untyped-decorator]
def _prefix(col: npt.NDArray[np.float64], out: npt.NDArray[np.float64]) -> None:
    acc = 0.0
    out[0] = 0.0
    for j in range(col.shape[0]):
        acc += col[j]
        out[j + 1] = acc


@numba.njit(nogil=True, cache=True)  # type: ignore[untyped-decorator]
def cfar_block_kernel(
    x: npt.NDArray[np.float32],
    ht: int,
    hg: int,
    hb: int,
    t: float,
    floor: float,
    margin: int,
    flag: npt.NDArray[np.bool_],
    clutter: npt.NDArray[np.float32],
) -> int:
    # Sliding column sums (x, x^2, count) over the rows of each window, then one horizontal
    # prefix sum per row: box sums in O(1) per pixel, memory O(columns).
    rows, cols = x.shape
    halves = np.array([ht, hg, hb])
    col = np.zeros((3, 3, cols), np.float64)  # [window, quantity, column]
    pre = np.zeros((3, 3, cols + 1), np.float64)
    lo = np.zeros(3, np.int64)
    hi = np.zeros(3, np.int64)
    count = 0
    first = True
    for i in range(margin, rows - margin):
        for k in range(3):
            h = halves[k]
            r0 = max(i - h, 0)
            r1 = min(i + h + 1, rows)
            if first:
                for r in range(r0, r1):
                    _update_columns(x, r, 1.0, col[k, 0], col[k, 1], col[k, 2])
            else:
                for r in range(hi[k], r1):
                    _update_columns(x, r, 1.0, col[k, 0], col[k, 1], col[k, 2])
                for r in range(lo[k], r0):
                    _update_columns(x, r, -1.0, col[k, 0], col[k, 1], col[k, 2])
            lo[k] = r0
            hi[k] = r1
        first = False
        _prefix(col[0, 0], pre[0, 0])
        _prefix(col[0, 2], pre[0, 2])
        for k in range(1, 3):
            for m in range(3):
                _prefix(col[k, m], pre[k, m])
        for j in range(margin, cols - margin):
            if x[i, j] != x[i, j]:  # NaN: no-data
                continue
            jt0 = max(j - ht, 0)
            jt1 = min(j + ht + 1, cols)
            nt = pre[0, 2, jt1] - pre[0, 2, jt0]
            mt = (pre[0, 0, jt1] - pre[0, 0, jt0]) / nt
            if mt < floor:
                continue
            jg0 = max(j - hg, 0)
            jg1 = min(j + hg + 1, cols)
            jb0 = max(j - hb, 0)
            jb1 = min(j + hb + 1, cols)
            nr = (pre[2, 2, jb1] - pre[2, 2, jb0]) - (pre[1, 2, jg1] - pre[1, 2, jg0])
            if nr < 0.5:
                continue
            sr = (pre[2, 0, jb1] - pre[2, 0, jb0]) - (pre[1, 0, jg1] - pre[1, 0, jg0])
            qr = (pre[2, 1, jb1] - pre[2, 1, jb0]) - (pre[1, 1, jg1] - pre[1, 1, jg0])
            mu = sr / nr
            var = qr / nr - mu * mu
            sd = math.sqrt(var) if var > 0.0 else 0.0
            clutter[i, j] = mu
            if mt > mu + t * sd:
                flag[i, j] = True
                count += 1
    return count


@numba.njit(nogil=True, cache=True)  # type: ignore[untyped-decorator]
def dilate_edges(
    mask: npt.NDArray[np.bool_],
    dy: npt.NDArray[np.int64],
    dx: npt.NDArray[np.int64],
    out: npt.NDArray[np.bool_],
) -> None:
    rows, cols = mask.shape
    for i in range(rows):
        for j in range(cols):
            if not mask[i, j]:
                continue
            edge = (
                (i > 0 and not mask[i - 1, j])
                or (i < rows - 1 and not mask[i + 1, j])
                or (j > 0 and not mask[i, j - 1])
                or (j < cols - 1 and not mask[i, j + 1])
            )
            if not edge:
                continue
            for k in range(dy.shape[0]):
                a = i + dy[k]
                b = j + dx[k]
                if 0 <= a < rows and 0 <= b < cols:
                    out[a, b] = True
