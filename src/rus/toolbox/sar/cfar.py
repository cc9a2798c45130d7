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
        raise ToolboxError(
            f"CFAR: pixel spacing must be a positive number of metres, got {spacing}"
        )
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
    """The numba CFAR kernel (numba imported, kernel compiled or loaded, on first use)."""
    from rus.toolbox.sar import _kernels

    return _kernels.cfar_block_kernel


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
    block: npt.NDArray[np.float32], windows: CfarWindows, t: float, floor: float, depth: int
) -> npt.NDArray[np.float32]:
    """CFAR on one block with its halo; returns the interior as ``[flag, clutter]``."""
    flag, clutter = cfar_numpy(block, windows, t, floor=floor, margin=depth)
    rows, cols = block.shape
    out = np.empty((2, rows - 2 * depth, cols - 2 * depth), dtype=np.float32)
    out[0] = flag[depth : rows - depth, depth : cols - depth]
    out[1] = clutter[depth : rows - depth, depth : cols - depth]
    return out


def safe_chunks(chunks: tuple[int, ...], depth: int) -> tuple[int, ...]:
    """Chunks along one axis, each at least ``depth`` long (one chunk if the axis is shorter)."""
    from dask.array import overlap as _overlap

    ovl: Any = _overlap

    if len(chunks) == 1 or min(chunks) >= depth:
        return chunks
    if sum(chunks) <= depth:
        return (sum(chunks),)
    return tuple(ovl.ensure_minimum_chunksize(depth, chunks))


def cfar_dask(
    intensity: Any, windows: CfarWindows, t: float, *, floor: float = SNAP_FLOOR
) -> tuple[Any, Any]:
    """Lazy CFAR over a dask (or numpy) 2-D array, chunk by chunk with a halo.

    Each chunk is extended by half the background window on every side (NaN beyond the image),
    so the result does not depend on the chunking. Chunks shorter than the halo are merged.

    Parameters
    ----------
    intensity
        2-D dask or numpy array of linear intensity, NaN = no-data.
    windows, t, floor
        See :func:`cfar_numpy`.

    Returns
    -------
    (flag, clutter) as dask arrays with the chunks of ``intensity`` (after any merging).
    """
    import dask.array as _da

    da: Any = _da

    check_windows(windows)
    arr = da.asarray(intensity)
    if arr.ndim != 2:
        raise ToolboxError(f"CFAR: expected a 2-D image, got shape {arr.shape}")
    if arr.dtype != np.float32:
        arr = arr.astype(np.float32)
    depth = windows.halo
    safe = tuple(safe_chunks(tuple(c), depth) for c in arr.chunks)
    if safe != arr.chunks:
        arr = arr.rechunk(safe)
    padded = da.overlap.overlap(arr, depth={0: depth, 1: depth}, boundary={0: np.nan, 1: np.nan})
    stacked = padded.map_blocks(
        _stacked_block,
        windows=windows,
        t=float(t),
        floor=float(floor),
        depth=depth,
        new_axis=0,
        chunks=((2,), *arr.chunks),
        dtype=np.float32,
        meta=np.empty((0, 0, 0), np.float32),
    )
    return stacked[0] > 0.5, stacked[1]


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
