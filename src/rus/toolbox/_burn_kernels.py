"""Numba kernels of the burn toolbox (imported lazily: importing this module imports numba).

Compiled on first use and cached on disk (``cache=True``); the kernels release the GIL
(``nogil=True``) so other threads of a chain keep running.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt


@numba.njit(nogil=True, cache=True)  # type: ignore[untyped-decorator]
def class_sums(
    codes: npt.NDArray[np.uint8],
    values: npt.NDArray[np.floating],
    n_classes: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Per-code pixel count, sum of the finite ``values`` and count of finite values.

    ``codes`` and ``values`` are flat arrays of the same size; codes >= ``n_classes`` are
    ignored. One pass, float64 accumulation.
    """
    counts = np.zeros(n_classes, np.int64)
    sums = np.zeros(n_classes, np.float64)
    finite = np.zeros(n_classes, np.int64)
    for i in range(codes.size):
        c = codes[i]
        if c >= n_classes:
            continue
        counts[c] += 1
        v = values[i]
        if v == v and v != np.inf and v != -np.inf:
            sums[c] += v
            finite[c] += 1
    return counts, sums, finite


@numba.njit(nogil=True, cache=True)  # type: ignore[untyped-decorator]
def count_outside(values: npt.NDArray[np.floating], lo: float, hi: float) -> int:
    """Number of values below ``lo`` or above ``hi`` (NaN counts as inside: it compares False)."""
    n = 0
    for i in range(values.size):
        v = values[i]
        if v < lo or v > hi:
            n += 1
    return n
