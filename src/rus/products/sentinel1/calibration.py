"""Sentinel-1 radiometric calibration: LUT vectors, their fast evaluation per block, and sigma0.

The calibration XML gives, every few hundred lines, a vector of LUT values ``A`` at sparse pixel
positions (every 40 pixels). Calibrated backscatter is ``(DN**2 - noise) / A**2``, with ``A``
interpolated bilinearly over (line, pixel). :class:`VectorGrid` evaluates that interpolation for
one block separably: each vector is first interpolated along pixel onto the block's columns
only (vectors are short, so this is cheap and handles vectors whose pixel positions differ),
then rows are blended linearly between the two bracketing vectors. The cost is a few flops per
pixel, so a full scene calibrates at memory speed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray

from rus.products._safe import SafeSource
from rus.products.errors import ProductError
from rus.products.sentinel1.annotation import decode_list

if TYPE_CHECKING:
    import xarray as xr

CalibrationKind = Literal["sigma0", "beta0", "gamma0"]

#: XML tag of each calibration kind in ``calibrationVector``.
LUT_TAGS: dict[str, str] = {"sigma0": "sigmaNought", "beta0": "betaNought", "gamma0": "gamma"}

LONG_NAMES: dict[str, str] = {
    "sigma0": "radar backscatter coefficient sigma nought (ellipsoid normalised)",
    "beta0": "radar brightness beta nought (slant range normalised)",
    "gamma0": "radar backscatter coefficient gamma nought (ellipsoid incidence normalised)",
}


@dataclass(frozen=True)
class VectorGrid:
    """LUT vectors at increasing ``lines``, each with its own pixel positions and values.

    Attributes
    ----------
    lines : ndarray of int64, shape (K,)
        Image line of each vector, strictly increasing.
    pixels : tuple of ndarray
        Pixel positions of each vector (increasing).
    values : tuple of ndarray of float64
        LUT values of each vector, same lengths as ``pixels``.
    """

    lines: NDArray[np.int64]
    pixels: tuple[NDArray[np.float64], ...]
    values: tuple[NDArray[np.float64], ...]

    def evaluate(self, rows: NDArray[np.integer], cols: NDArray[np.integer]) -> NDArray[np.float32]:
        """Bilinear value at every (row, col) of a block, as float32 ``(len(rows), len(cols))``.

        Outside the vectors' extent the nearest vector / end value is used (no extrapolation).
        """
        out = np.empty((rows.size, cols.size), dtype=np.float32)
        if rows.size == 0 or cols.size == 0:
            return out
        col_f = cols.astype(np.float64)
        n = self.lines.size
        if n == 1:
            out[:] = np.interp(col_f, self.pixels[0], self.values[0]).astype(np.float32)
            return out
        k = np.clip(np.searchsorted(self.lines, rows, side="right") - 1, 0, n - 2)
        # Rows sharing a bracketing pair form contiguous runs (rows are increasing).
        starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
        ends = np.r_[starts[1:], k.size]
        cache: dict[int, NDArray[np.float32]] = {}

        def vec(j: int) -> NDArray[np.float32]:
            if j not in cache:
                cache[j] = np.interp(col_f, self.pixels[j], self.values[j]).astype(np.float32)
            return cache[j]

        for a, b in zip(starts, ends, strict=True):
            j = int(k[a])
            l0, l1 = float(self.lines[j]), float(self.lines[j + 1])
            w = np.clip((rows[a:b] - l0) / (l1 - l0), 0.0, 1.0).astype(np.float32)
            v0 = vec(j)
            dv = vec(j + 1) - v0
            np.multiply(w[:, None], dv[None, :], out=out[a:b])
            out[a:b] += v0
        return out

    def tables(
        self, rows: NDArray[np.integer], cols: NDArray[np.integer]
    ) -> tuple[NDArray[np.float32], NDArray[np.int64], NDArray[np.float32]]:
        """Separable form of :meth:`evaluate` for a block, for the fused kernel.

        Returns ``(table, k, w)``: ``table[j]`` is vector ``j`` interpolated onto ``cols``, and
        row ``i`` of the block is ``table[k[i]] + w[i] * (table[k[i] + 1] - table[k[i]])``.
        """
        col_f = cols.astype(np.float64)
        n = self.lines.size
        if n == 1:
            v = np.interp(col_f, self.pixels[0], self.values[0]).astype(np.float32)
            return np.stack([v, v]), np.zeros(rows.size, np.int64), np.zeros(rows.size, np.float32)
        k = np.clip(np.searchsorted(self.lines, rows, side="right") - 1, 0, n - 2)
        l0 = self.lines[k].astype(np.float64)
        l1 = self.lines[k + 1].astype(np.float64)
        w = np.clip((rows - l0) / (l1 - l0), 0.0, 1.0).astype(np.float32)
        k0 = int(k.min()) if k.size else 0
        k1 = int(k.max()) + 1 if k.size else 1
        table = np.stack(
            [np.interp(col_f, self.pixels[j], self.values[j]) for j in range(k0, k1 + 1)]
        ).astype(np.float32)
        return table, (k - k0).astype(np.int64), w

    def at(self, line: float, pixel: float) -> float:
        """Value at one (line, pixel), for checks and tests."""
        return float(
            self.evaluate(np.array([line], dtype=np.float64), np.array([pixel], dtype=np.float64))[
                0, 0
            ]
        )


def _floats(node: dict[str, object] | object) -> NDArray[np.float64]:
    text = node["$"] if isinstance(node, dict) else node
    return np.array(str(text).split(), dtype=np.float64)


def make_grid(
    lines: list[int],
    pixels: list[NDArray[np.float64]],
    values: list[NDArray[np.float64]],
    where: str,
) -> VectorGrid:
    """Validate and sort vectors into a :class:`VectorGrid`; ``where`` names the file."""
    if not lines:
        raise ProductError(f"{where}: no LUT vectors")
    order = np.argsort(np.asarray(lines), kind="stable")
    ls = np.asarray(lines, dtype=np.int64)[order]
    if np.any(np.diff(ls) <= 0):
        raise ProductError(f"{where}: LUT vectors have repeated line numbers")
    pix = tuple(pixels[i] for i in order)
    val = tuple(values[i] for i in order)
    for p, v in zip(pix, val, strict=True):
        if p.size != v.size or p.size == 0:
            raise ProductError(f"{where}: a LUT vector has {p.size} pixels but {v.size} values")
    return VectorGrid(ls, pix, val)


def read_calibration(source: SafeSource, member: str) -> dict[str, VectorGrid]:
    """All calibration LUTs (``sigma0``, ``beta0``, ``gamma0``, ``dn``) of one calibration XML."""
    vectors = decode_list(source, member, "//calibrationVector", "calibration")
    where = f"{source.path}: {member}"
    if not vectors:
        raise ProductError(f"{where}: no calibrationVector in the calibration file")
    lines = [int(v["line"]) for v in vectors]
    pixels = [_floats(v["pixel"]) for v in vectors]
    out = {}
    for kind, tag in {**LUT_TAGS, "dn": "dn"}.items():
        if tag not in vectors[0]:
            continue
        out[kind] = make_grid(lines, pixels, [_floats(v[tag]) for v in vectors], where)
    return out


def calibrate_block(
    dn: NDArray[np.integer], a: NDArray[np.float32], noise: NDArray[np.float32] | None
) -> NDArray[np.float32]:
    """``(DN**2 - noise) / A**2`` for one block; negatives to 0, NaN where ``DN == 0``.

    ``a`` is overwritten (it is a per-block temporary).
    """
    out = dn.astype(np.float32)
    nodata = dn == 0
    np.multiply(out, out, out=out)
    if noise is not None:
        np.subtract(out, noise, out=out)
        np.maximum(out, 0.0, out=out)
    np.multiply(a, a, out=a)
    np.divide(out, a, out=out)
    out[nodata] = np.nan
    return out


def calibrate_intensity(
    dn: xr.DataArray, lut: xr.DataArray, noise: xr.DataArray | None = None
) -> xr.DataArray:
    """Linear calibrated intensity ``(DN**2 - noise) / A**2`` from DN, LUT ``A`` and noise power.

    Parameters
    ----------
    dn : xarray.DataArray
        Digital numbers (uint16), dims ``("line", "pixel")``; 0 means no data.
    lut : xarray.DataArray
        Calibration LUT ``A`` at full resolution (e.g. from ``S1GRD.calibration_lut``).
    noise : xarray.DataArray, optional
        Thermal noise power in DN**2 (``S1GRD.noise_power``); ``None`` skips denoising.

    Returns
    -------
    xarray.DataArray
        float32, linear (not dB), attribute ``units = "m2 m-2"``. Negative values after noise
        subtraction are set to 0 (as SNAP does); no-data pixels (DN 0) are NaN. Works blockwise on
        dask arrays (one task per chunk).
    """
    import xarray as xr

    kind = str(lut.attrs.get("kind", "sigma0"))

    def _block(
        d: NDArray[np.integer], a: NDArray[np.floating], *n: NDArray[np.floating]
    ) -> NDArray[np.float32]:
        return calibrate_block(
            d, np.array(a, dtype=np.float32, copy=True), n[0].astype(np.float32) if n else None
        )

    args = [dn, lut] + ([noise] if noise is not None else [])
    out = xr.apply_ufunc(_block, *args, dask="parallelized", output_dtypes=[np.float32])
    out.attrs = {
        "units": "m2 m-2",
        "long_name": LONG_NAMES.get(kind, kind)
        + (", thermal noise removed" if noise is not None else ""),
        "kind": kind,
        "scale": "linear (10*log10 gives dB)",
        "denoised": noise is not None,
    }
    renamed: xr.DataArray = out.rename(kind)
    return renamed
