"""Fused per-chunk calibration kernel (numba): DN -> (DN**2 - noise) / A**2 in one pass.

Numpy would need about 15 full passes over a chunk (LUT, noise, azimuth factor, square,
subtract, clip, divide, no-data); this kernel reads each DN once and writes each output once,
with the LUT and noise rebuilt on the fly from their separable tables (see
:meth:`rus.products.sentinel1.calibration.VectorGrid.tables`). It releases the GIL, so dask
threads calibrate chunks in parallel. Compiled on first use and cached on disk.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from numpy.typing import NDArray

_KERNEL: Any = None
_LOCK = threading.Lock()


def _build() -> Any:
    import numba

    @numba.njit(nogil=True, cache=True)
    def kernel(
        dn: Any,
        a_tab: Any,
        a_k: Any,
        a_w: Any,
        n_tab: Any,
        n_k: Any,
        n_w: Any,
        use_noise: bool,
        az_r0: Any,
        az_r1: Any,
        az_c0: Any,
        az_c1: Any,
        az_fac: Any,
        out: Any,
    ) -> None:  # pragma: no cover - compiled
        rows, cols = dn.shape
        azc = np.empty(cols, np.float32)
        zero = np.float32(0.0)
        nan = np.float32(np.nan)
        for r in range(rows):
            ka = a_k[r]
            wa = a_w[r]
            kn = n_k[r]
            wn = n_w[r]
            azc[:] = 1.0
            for b in range(az_r0.shape[0]):
                if az_r0[b] <= r < az_r1[b]:
                    f = az_fac[b, r]
                    for c in range(az_c0[b], az_c1[b]):
                        azc[c] = f
            for c in range(cols):
                d = dn[r, c]
                if d == 0:
                    out[r, c] = nan
                    continue
                a0 = a_tab[ka, c]
                a = a0 + wa * (a_tab[ka + 1, c] - a0)
                v = np.float32(d) * np.float32(d)
                if use_noise:
                    n0 = n_tab[kn, c]
                    v = v - (n0 + wn * (n_tab[kn + 1, c] - n0)) * azc[c]
                    if v < zero:
                        v = zero
                out[r, c] = v / (a * a)

    return kernel


def fused_intensity(
    dn: NDArray[np.uint16],
    lut: tuple[NDArray[np.float32], NDArray[np.int64], NDArray[np.float32]],
    noise: tuple[NDArray[np.float32], NDArray[np.int64], NDArray[np.float32]] | None,
    azimuth: tuple[NDArray[np.int64], NDArray[np.float32]] | None,
) -> NDArray[np.float32]:
    """Calibrate one chunk.

    Parameters
    ----------
    dn : ndarray of uint16, shape (R, C)
        Digital numbers; 0 is no data (NaN out).
    lut : (table, k, w)
        Separable LUT ``A`` of the chunk (``VectorGrid.tables``).
    noise : (table, k, w) or None
        Separable range noise of the chunk; ``None`` skips denoising.
    azimuth : (rects, factors) or None
        Azimuth noise blocks clipped to the chunk: ``rects`` int64 ``(B, 4)`` with chunk-local
        ``row0, row1, col0, col1`` (half-open) and ``factors`` float32 ``(B, R)``.

    Returns
    -------
    ndarray of float32, shape (R, C)
        ``max(DN**2 - noise, 0) / A**2``, NaN where ``DN == 0``.
    """
    global _KERNEL
    if _KERNEL is None:
        with _LOCK:  # dask threads arrive together: compile (or load from cache) once
            if _KERNEL is None:
                _KERNEL = _build()
    out = np.empty(dn.shape, dtype=np.float32)
    rows = dn.shape[0]
    if noise is None:
        n_tab = np.zeros((2, 1), np.float32)
        n_k = np.zeros(rows, np.int64)
        n_w = np.zeros(rows, np.float32)
    else:
        n_tab, n_k, n_w = noise
    if azimuth is None or azimuth[0].shape[0] == 0:
        rects = np.zeros((0, 4), np.int64)
        fac = np.zeros((0, rows), np.float32)
    else:
        rects, fac = azimuth
    _KERNEL(
        np.ascontiguousarray(dn),
        lut[0],
        lut[1],
        lut[2],
        n_tab,
        n_k,
        n_w,
        noise is not None,
        np.ascontiguousarray(rects[:, 0]),
        np.ascontiguousarray(rects[:, 1]),
        np.ascontiguousarray(rects[:, 2]),
        np.ascontiguousarray(rects[:, 3]),
        np.ascontiguousarray(fac, dtype=np.float32),
        out,
    )
    return out
