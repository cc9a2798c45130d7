"""The fused pass: every block of the six input bands is decoded once and turned into outputs.

The readers' dask chunks follow the files' internal tiles; one dask task per block runs
:func:`_block`, which scales nothing twice and writes dNBR, RBR, RdNBR, the severity classes and
the quicklook samples straight into pre-allocated arrays (no concatenation copies), returning
only per-block mask counts. The local threaded scheduler runs the blocks on all cores.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from rus.toolbox import burn
from rus.toolbox.indices import burn_ratio_arrays

if TYPE_CHECKING:
    from rus.chains.burned_area.inputs import DateBands
    from rus.chains.burned_area.params import BurnParams

#: Per-block counts returned by the kernel, before the one count per mask layer.
BASE_COUNTS = ("nodata_pixels", "valid_pixels")


@dataclass(frozen=True)
class MaskLayer:
    """One masking input of the fused pass: a small-integer layer and its lookup table.

    ``table[layer]`` is True where a pixel is masked (e.g. SCL classes, or a 0/1 cloud mask).
    Pixels masked by a layer are counted under ``key``.
    """

    key: str
    data: Any  # xr.DataArray or dask array, uint8, on the grid of the bands
    table: np.ndarray  # bool, 256 entries


@dataclass
class FusedResult:
    """Full-resolution outputs, quicklook samples and mask counts of one pair."""

    dnbr: np.ndarray
    rbr: np.ndarray
    rdnbr: np.ndarray
    severity: np.ndarray
    thumb_swir2: np.ndarray
    thumb_nir: np.ndarray
    counts: dict[str, int]


def thumb_step(shape: tuple[int, ...], size: int) -> int:
    """Decimation step giving a quicklook whose longest side is at most ``size``."""
    return max(1, math.ceil(max(shape) / size))


def _block(
    *arrays: np.ndarray,
    tables: tuple[np.ndarray, ...],
    index: str,
    thresholds: tuple[float, ...],
    outs: dict[str, np.ndarray],
    step: int,
    block_info: dict[Any, Any] | None = None,
) -> np.ndarray:
    """Compute one block into ``outs``; return its counts as a (1, n) int64 array."""
    assert block_info is not None
    (r0, r1), (c0, c1) = block_info[0]["array-location"]
    n0, s0, n1, s1 = arrays[:4]
    finite = np.isfinite(n0)
    scratch = np.empty_like(finite)
    for band in (s0, n1, s1):
        finite &= np.isfinite(band, out=scratch)
    valid = finite.copy()
    masked = []
    for layer, table in zip(arrays[4:], tables, strict=True):
        hit = table.take(layer)
        masked.append(int(np.count_nonzero(hit)))
        valid &= np.logical_not(hit, out=hit)
    invalid = np.logical_not(valid, out=valid)
    d, rbr, rd = burn_ratio_arrays(n0, s0, n1, s1, invalid=invalid)
    sev = burn.classify_array(rbr if index == "rbr" else d, thresholds)
    outs["dnbr"][r0:r1, c0:c1] = d
    outs["rbr"][r0:r1, c0:c1] = rbr
    outs["rdnbr"][r0:r1, c0:c1] = rd
    outs["severity"][r0:r1, c0:c1] = sev
    # quicklook samples: every step-th pixel of the full grid that falls in this block
    oy, ox = (-r0) % step, (-c0) % step
    ty, tx = (r0 + oy) // step, (c0 + ox) // step
    sw = s1[oy::step, ox::step]
    outs["thumb_swir2"][ty : ty + sw.shape[0], tx : tx + sw.shape[1]] = sw
    outs["thumb_nir"][ty : ty + sw.shape[0], tx : tx + sw.shape[1]] = n1[oy::step, ox::step]
    counts = [int(finite.size - np.count_nonzero(finite)), int(np.count_nonzero(sev)), *masked]
    return np.asarray([counts], dtype=np.int64)


def compute_fused(
    pre: DateBands, post: DateBands, params: BurnParams, masks: Sequence[MaskLayer] = ()
) -> FusedResult:
    """Run the fused pass over both dates (all inputs on one grid) and return the outputs.

    ``masks`` are the masking layers (SCL of either date, cloud masks), on the same grid.
    """
    import dask.array as da

    def lazy(a: Any) -> Any:
        data = a if isinstance(a, da.Array) else a.data
        if not isinstance(data, da.Array):
            data = da.from_array(np.asarray(data), chunks=pre.nir.data.chunksize)  # type: ignore[no-untyped-call]
        return data

    inputs = [lazy(pre.nir), lazy(pre.swir2), lazy(post.nir), lazy(post.swir2)]
    inputs += [lazy(layer.data) for layer in masks]
    keys = (*BASE_COUNTS, *(layer.key for layer in masks))
    pairs = [x for a in inputs for x in (a, "ij")]
    _, inputs = da.core.unify_chunks(*pairs)  # type: ignore[no-untyped-call]
    shape = tuple(pre.nir.shape)
    step = thumb_step(shape, params.quicklook_size)
    tshape = (math.ceil(shape[0] / step), math.ceil(shape[1] / step))
    outs: dict[str, np.ndarray] = {
        "dnbr": np.empty(shape, np.float32),
        "rbr": np.empty(shape, np.float32),
        "rdnbr": np.empty(shape, np.float32),
        "severity": np.empty(shape, np.uint8),
        "thumb_swir2": np.full(tshape, np.nan, np.float32),
        "thumb_nir": np.full(tshape, np.nan, np.float32),
    }
    nby, nbx = len(inputs[0].chunks[0]), len(inputs[0].chunks[1])
    counts = da.map_blocks(  # type: ignore[no-untyped-call]
        _block,
        *inputs,
        tables=tuple(layer.table for layer in masks),
        index=params.index,
        thresholds=tuple(params.thresholds),
        outs=outs,
        step=step,
        dtype=np.int64,
        chunks=((1,) * nby, (len(keys),) * nbx),
        name="burn-fused",
    )
    # side effects into shared memory: the local threaded scheduler, always
    totals = counts.compute(scheduler="threads").reshape(nby, nbx, len(keys)).sum(axis=(0, 1))
    return FusedResult(
        dnbr=outs["dnbr"],
        rbr=outs["rbr"],
        rdnbr=outs["rdnbr"],
        severity=outs["severity"],
        thumb_swir2=outs["thumb_swir2"],
        thumb_nir=outs["thumb_nir"],
        counts={k: int(v) for k, v in zip(keys, totals, strict=True)},
    )
