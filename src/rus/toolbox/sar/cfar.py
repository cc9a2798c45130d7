"""Two-parameter CFAR exactly as SNAP's AdaptiveThresholding defines it, at O(1) cost per pixel.

The rule (Crisp 2004, SNAP ``AdaptiveThresholdingOp``), for every valid pixel ``p``:

- ``m_t``: mean of the valid pixels of the target window (``nt`` x ``nt``) centred on ``p``;
- ``mu``, ``sigma``: mean and *population* standard deviation of the valid pixels of the ring
  between the guard window (``ng`` x ``ng``) and the background window (``nb`` x ``nb``);
- ``p`` is flagged when ``m_t >= floor`` (0.005, about -23 dB) and ``m_t > mu + t * sigma``,
  with ``t = Phi^-1(1 - 10^-PFA)``.

No-data is NaN (land, outside the swath, outside the image): it is excluded from every count and
a no-data pixel is never flagged. Windows are clipped at the image edge (equivalently, the image is
padded with no-data). Box sums of ``x``, ``x^2`` and the valid count come from one set of
summed-area tables per chunk, so the cost per pixel does not depend on the window sizes. Chunks
are processed with :func:`dask.array.map_overlap` with a halo of half the background window, which
makes the chunked result equal to the whole-array result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from rus.toolbox.errors import ToolboxError

#: Target-window means below this (linear sigma0, about -23 dB) are never flagged (SNAP).
SNAP_FLOOR = 0.005

#: Highest PFA exponent accepted (``10^-PFA`` must stay a representable probability).
MAX_PFA = 300.0


@dataclass(frozen=True)
class CfarWindows:
    """Odd window sizes in pixels: target < guard < background.

    Attributes
    ----------
    target, guard, background
        Side lengths in pixels (odd). The background statistics use the ring between the guard
        and the background windows.
    """

    target: int
    guard: int
    background: int

    @property
    def halo(self) -> int:
        """Half the background window: the overlap chunks need to give exact results."""
        return self.background // 2

    @property
    def ring_pixels(self) -> int:
        """Number of pixels of a full ring (no clipping, no no-data)."""
        return self.background**2 - self.guard**2


def window_pixels(metres: float, spacing: float) -> int:
    """Window side in pixels as SNAP derives it: ``int(metres / spacing) + 1``, forced odd.

    Parameters
    ----------
    metres
        Window side in metres.
    spacing
        Mean pixel spacing in metres.

    Returns
    -------
    int, odd, >= 1 (50 m at 10 m gives 7; 500 m gives 51; 800 m gives 81).
    """
    if not (spacing > 0 and math.isfinite(spacing)):
        raise ToolboxError(f"CFAR: pixel spacing must be a positive number of metres, got {spacing}")
    if not (metres > 0 and math.isfinite(metres)):
        raise ToolboxError(f"CFAR: window size must be a positive number of metres, got {metres}")
    n = int(metres / spacing) + 1
    return n if n % 2 == 1 else n + 1


def windows_from_metres(
    target_m: float, guard_m: float, background_m: float, spacing: float
) -> CfarWindows:
    """Convert SNAP's window sizes in metres to odd pixel sizes and check their order.

    Parameters
    ----------
    target_m, guard_m, background_m
        Window sides in metres (SNAP defaults for ship detection: 50, 500, 800).
    spacing
        Mean pixel spacing in metres (10 m for IW GRDH).

    Returns
    -------
    CfarWindows
    """
    w = CfarWindows(
        window_pixels(target_m, spacing),
        window_pixels(guard_m, spacing),
        window_pixels(background_m, spacing),
    )
    check_windows(w)
    return w


def check_windows(w: CfarWindows) -> None:
    """Raise :class:`ToolboxError` unless the sizes are odd, positive and target < guard < bg."""
    for name, n in (("target", w.target), ("guard", w.guard), ("background", w.background)):
        if n < 1 or n % 2 == 0:
            raise ToolboxError(f"CFAR: the {name} window must be an odd number of pixels, got {n}")
    if not (w.target <= w.guard < w.background):
        raise ToolboxError(
            "CFAR: windows must satisfy target <= guard < background, got "
            f"{w.target}, {w.guard}, {w.background} pixels"
        )


def pfa_to_threshold(pfa: float) -> float:
    """SNAP's threshold multiplier ``t = Phi^-1(1 - 10^-PFA)``.

    Parameters
    ----------
    pfa
        Probability of false alarm as a negative decimal exponent (12.5 means 10^-12.5), in
        ``(0, 300]``.

    Returns
    -------
    float: 4.98 for PFA 6.5, 7.19 for PFA 12.5.
    """
    if not (math.isfinite(pfa) and 0.0 < pfa <= MAX_PFA):
        raise ToolboxError(
            f"CFAR: PFA must be a decimal exponent in (0, {MAX_PFA:g}] "
            f"(12.5 means a false-alarm probability of 10^-12.5), got {pfa}"
        )
    from scipy.special import ndtri

    # Phi^-1(1 - q) = -Phi^-1(q): exact even where 1 - q rounds to 1.
    return float(-ndtri(10.0 ** (-pfa)))


def _kernel() -> Any:
    """The numba kernel (compiled lazily, cached on disk)."""
    global _KERNEL
    if _KERNEL is None:
        _KERNEL = _build_kernel()
    return _KERNEL


_KERNEL: Any = None


def _build_kernel() -> Any:
    import numba

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
        rows, cols = x.shape
        s = np.zeros((rows + 1, cols + 1), np.float64)
        q = np.zeros((rows + 1, cols + 1), np.float64)
        n = np.zeros((rows + 1, cols + 1), np.int32)
        for i in range(rows):
            rs = 0.0
            rq = 0.0
            rn = 0
            for j in range(cols):
                v = x[i, j]
                if v == v:  # not NaN
                    vd = np.float64(v)
                    rs += vd
                    rq += vd * vd
                    rn += 1
                s[i + 1, j + 1] = s[i, j + 1] + rs
                q[i + 1, j + 1] = q[i, j + 1] + rq
                n[i + 1, j + 1] = n[i, j + 1] + rn
        count = 0
        for i in range(margin, rows - margin):
            it0 = max(i - ht, 0)
            it1 = min(i + ht + 1, rows)
            ig0 = max(i - hg, 0)
            ig1 = min(i + hg + 1, rows)
            ib0 = max(i - hb, 0)
            ib1 = min(i + hb + 1, rows)
            for j in range(margin, cols - margin):
                if not (x[i, j] == x[i, j]):
                    continue
                jt0 = max(j - ht, 0)
                jt1 = min(j + ht + 1, cols)
                nt = n[it1, jt1] - n[it0, jt1] - n[it1, jt0] + n[it0, jt0]
                st = s[it1, jt1] - s[it0, jt1] - s[it1, jt0] + s[it0, jt0]
                mt = st / nt
                if mt < floor:
                    continue
                jg0 = max(j - hg, 0)
                jg1 = min(j + hg + 1, cols)
                jb0 = max(j - hb, 0)
                jb1 = min(j + hb + 1, cols)
                nr = (n[ib1, jb1] - n[ib0, jb1] - n[ib1, jb0] + n[ib0, jb0]) - (
                    n[ig1, jg1] - n[ig0, jg1] - n[ig1, jg0] + n[ig0, jg0]
                )
                if nr <= 0:
                    continue
                sr = (s[ib1, jb1] - s[ib0, jb1] - s[ib1, jb0] + s[ib0, jb0]) - (
                    s[ig1, jg1] - s[ig0, jg1] - s[ig1, jg0] + s[ig0, jg0]
                )
                qr = (q[ib1, jb1] - q[ib0, jb1] - q[ib1, jb0] + q[ib0, jb0]) - (
                    q[ig1, jg1] - q[ig0, jg1] - q[ig1, jg0] + q[ig0, jg0]
                )
                mu = sr / nr
                var = qr / nr - mu * mu
                sd = math.sqrt(var) if var > 0.0 else 0.0
                clutter[i, j] = mu
                if mt > mu + t * sd:
                    flag[i, j] = True
                    count += 1
        return count

    return cfar_block_kernel


def cfar_numpy(
    x: npt.NDArray[np.floating[Any]],
    windows: CfarWindows,
    t: float,
    *,
    floor: float = SNAP_FLOOR,
    margin: int = 0,
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float32]]:
    """Run the CFAR test on one in-memory array (a chunk with its halo, or a whole image).

    Parameters
    ----------
    x
        2-D intensity (linear), NaN = no-data.
    windows
        Window sizes in pixels.
    t
        Threshold multiplier (see :func:`pfa_to_threshold`).
    floor
        Target means below ``floor`` are never flagged.
    margin
        Pixels this far from the array edge are not tested (they are a halo).

    Returns
    -------
    (flag, clutter): bool detections and the ring mean (float32, same unit as ``x``; NaN where
    the test did not reach the ring statistics).
    """
    check_windows(windows)
    arr = np.ascontiguousarray(x, dtype=np.float32)
    if arr.ndim != 2:
        raise ToolboxError(f"CFAR: expected a 2-D image, got shape {arr.shape}")
    flag = np.zeros(arr.shape, dtype=bool)
    clutter = np.full(arr.shape, np.nan, dtype=np.float32)
    _kernel()(
        arr,
        windows.target // 2,
        windows.guard // 2,
        windows.background // 2,
        float(t),
        float(floor),
        int(margin),
        flag,
        clutter,
    )
    return flag, clutter


def _stacked_block(
    block: npt.NDArray[np.float32], windows: CfarWindows, t: float, floor: float, margin: int
) -> npt.NDArray[np.float32]:
    flag, clutter = cfar_numpy(block, windows, t, floor=floor, margin=margin)
    out = np.empty((2, *block.shape), dtype=np.float32)
    out[0] = flag
    out[1] = clutter
    return out


def cfar_dask(
    intensity: Any, windows: CfarWindows, t: float, *, floor: float = SNAP_FLOOR
) -> tuple[Any, Any]:
    """Lazy CFAR over a dask (or numpy) 2-D array, chunk by chunk with a halo.

    Parameters
    ----------
    intensity
        2-D dask or numpy array of linear intensity, NaN = no-data.
    windows, t, floor
        See :func:`cfar_numpy`.

    Returns
    -------
    (flag, clutter) as dask arrays with the chunks of ``intensity``.
    """
    import dask.array as da

    check_windows(windows)
    arr = da.asarray(intensity)
    if arr.ndim != 2:
        raise ToolboxError(f"CFAR: expected a 2-D image, got shape {arr.shape}")
    arr = arr.astype(np.float32)
    depth = windows.halo
    # Chunks smaller than the halo are merged so that a block plus its halo covers every window.
    min_chunk = max(depth, 1)
    if min(min(c) for c in arr.chunks) < min_chunk:
        arr = arr.rechunk(
            tuple(max(min_chunk, max(c)) if n >= min_chunk else n for c, n in zip(arr.chunks, arr.shape, strict=True))
        )
    stacked = da.map_overlap(
        _stacked_block,
        arr,
        depth=depth,
        boundary=np.nan,
        trim=False,
        dtype=np.float32,
        new_axis=0,
        chunks=((2,), *[tuple(c + 2 * depth for c in cs) for cs in arr.chunks]),
        windows=windows,
        t=float(t),
        floor=float(floor),
        margin=depth,
        meta=np.empty((0, 0, 0), np.float32),
    )
    trimmed = _trim(stacked, depth)
    return trimmed[0] > 0.5, trimmed[1]


def _trim(stacked: Any, depth: int) -> Any:
    import dask.array as da

    return da.overlap.trim_internal(stacked, {0: 0, 1: depth, 2: depth}, boundary="none")


def cfar_mask(
    intensity: Any,
    windows: CfarWindows,
    pfa: float,
    *,
    floor: float = SNAP_FLOOR,
) -> Any:
    """CFAR detections of an :class:`xarray.DataArray` (lazy when it is dask-backed).

    Parameters
    ----------
    intensity
        2-D DataArray of linear intensity (sigma0), NaN = no-data (land, outside the swath).
    windows
        Window sizes in pixels (see :func:`windows_from_metres`).
    pfa
        False-alarm probability exponent (12.5 means 10^-12.5).
    floor
        Target-window means below this are never flagged (SNAP: 0.005).

    Returns
    -------
    xarray.Dataset with ``detected`` (bool) and ``clutter`` (ring mean, linear, float32).
    """
    import xarray as xr

    t = pfa_to_threshold(pfa)
    flag, clutter = cfar_dask(intensity.data, windows, t, floor=floor)
    dims = intensity.dims
    coords = {k: v for k, v in intensity.coords.items() if set(v.dims) <= set(dims)}
    attrs = {
        "target_window_px": windows.target,
        "guard_window_px": windows.guard,
        "background_window_px": windows.background,
        "pfa": float(pfa),
        "threshold_multiplier": t,
        "floor": float(floor),
    }
    return xr.Dataset(
        {
            "detected": (
                dims,
                flag,
                {"long_name": "two-parameter CFAR detection", "units": "1", **attrs},
            ),
            "clutter": (
                dims,
                clutter,
                {
                    "long_name": "mean of the CFAR background ring (linear, as the input)",
                    "units": str(intensity.attrs.get("units", "1")),
                },
            ),
        },
        coords=coords,
    )
