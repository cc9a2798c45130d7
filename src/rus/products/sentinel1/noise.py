"""Sentinel-1 thermal noise: range and azimuth noise vectors, evaluated per block.

Products from IPF 2.9 on carry ``noiseRangeVectorList`` (range LUTs every few hundred lines) and
``noiseAzimuthVectorList`` (per sub-swath block: an azimuth LUT over lines, applied to the block's
rectangle of lines and range samples). Noise power is ``range(line, pixel) * azimuth(line)``.
Older products carry only ``noiseVectorList`` (range LUTs, tag ``noiseLut``), which xarray-
sentinel's bundled schema does not describe; those are read with ElementTree.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from xml.etree import ElementTree

import numpy as np
from numpy.typing import NDArray

from rus.products._safe import SafeSource
from rus.products.errors import ProductError
from rus.products.sentinel1.annotation import decode_list
from rus.products.sentinel1.calibration import VectorGrid, make_grid


@dataclass(frozen=True)
class AzimuthBlock:
    """One azimuth noise block: a LUT over ``lines`` applied inside a rectangle (inclusive)."""

    swath: str
    first_line: int
    last_line: int
    first_sample: int
    last_sample: int
    lines: NDArray[np.float64]
    values: NDArray[np.float64]


@dataclass(frozen=True)
class NoiseModel:
    """Range noise LUTs and (IPF >= 2.9) azimuth noise blocks of one polarisation."""

    range: VectorGrid
    azimuth: tuple[AzimuthBlock, ...]

    def evaluate(self, rows: NDArray[np.integer], cols: NDArray[np.integer]) -> NDArray[np.float32]:
        """Noise power (DN**2 units) on a block, float32 ``(len(rows), len(cols))``.

        Pixels that no azimuth block covers keep the range noise alone (azimuth factor 1).
        """
        out = self.range.evaluate(rows, cols)
        for blk in self.azimuth:
            r = (rows >= blk.first_line) & (rows <= blk.last_line)
            c = (cols >= blk.first_sample) & (cols <= blk.last_sample)
            if not r.any() or not c.any():
                continue
            ri = np.flatnonzero(r)
            ci = np.flatnonzero(c)
            fac = np.interp(rows[ri].astype(np.float64), blk.lines, blk.values).astype(np.float32)
            r0, r1, c0, c1 = ri[0], ri[-1] + 1, ci[0], ci[-1] + 1
            out[r0:r1, c0:c1] *= fac[:, None]
        return out

    def azimuth_tables(
        self, rows: NDArray[np.integer], cols: NDArray[np.integer]
    ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Azimuth blocks clipped to a block of contiguous ``rows`` x ``cols``.

        Returns ``(rects, factors)``: ``rects[b]`` = block-local ``row0, row1, col0, col1``
        (half-open) and ``factors[b]`` the block's azimuth LUT at every row of the block.
        """
        rects: list[list[int]] = []
        facs: list[NDArray[np.float32]] = []
        if rows.size == 0 or cols.size == 0:
            return np.zeros((0, 4), np.int64), np.zeros((0, rows.size), np.float32)
        r_first, c_first = int(rows[0]), int(cols[0])
        r_last, c_last = int(rows[-1]), int(cols[-1])
        for blk in self.azimuth:
            r0, r1 = max(blk.first_line, r_first), min(blk.last_line, r_last)
            c0, c1 = max(blk.first_sample, c_first), min(blk.last_sample, c_last)
            if r0 > r1 or c0 > c1:
                continue
            rects.append([r0 - r_first, r1 - r_first + 1, c0 - c_first, c1 - c_first + 1])
            facs.append(
                np.interp(rows.astype(np.float64), blk.lines, blk.values).astype(np.float32)
            )
        if not rects:
            return np.zeros((0, 4), np.int64), np.zeros((0, rows.size), np.float32)
        return np.asarray(rects, dtype=np.int64), np.stack(facs)

    def at(self, line: float, pixel: float) -> float:
        """Noise power at one (line, pixel), for checks and tests."""
        return float(
            self.evaluate(np.array([line], dtype=np.float64), np.array([pixel], dtype=np.float64))[
                0, 0
            ]
        )


def _floats(node: object) -> NDArray[np.float64]:
    text = node["$"] if isinstance(node, dict) else node
    return np.array(str(text).split(), dtype=np.float64)


def _legacy_range(raw: bytes, where: str) -> VectorGrid:
    """``noiseVectorList`` of IPF < 2.9 products (tag ``noiseLut``)."""
    try:
        root = ElementTree.parse(io.BytesIO(raw)).getroot()
    except ElementTree.ParseError as exc:
        raise ProductError(f"{where}: not valid XML ({exc})") from exc
    lines: list[int] = []
    pixels: list[NDArray[np.float64]] = []
    values: list[NDArray[np.float64]] = []
    for vec in root.iter("noiseVector"):
        lines.append(int(vec.findtext("line", "0")))
        pixels.append(_floats(vec.findtext("pixel", "")))
        values.append(_floats(vec.findtext("noiseLut", "")))
    return make_grid(lines, pixels, values, where)


def read_noise(source: SafeSource, member: str) -> NoiseModel:
    """Parse one noise XML (either generation) into a :class:`NoiseModel`."""
    where = f"{source.path}: {member}"
    raw = source.read_bytes(member)
    if b"noiseRangeVectorList" not in raw:
        if b"noiseVectorList" not in raw:
            raise ProductError(
                f"{where}: no noise vectors (neither noiseRangeVectorList nor noiseVectorList)"
            )
        return NoiseModel(_legacy_range(raw, where), ())
    rvecs = decode_list(source, member, "//noiseRangeVector", "noise")
    rng = make_grid(
        [int(v["line"]) for v in rvecs],
        [_floats(v["pixel"]) for v in rvecs],
        [_floats(v["noiseRangeLut"]) for v in rvecs],
        where,
    )
    blocks = []
    for v in decode_list(source, member, "//noiseAzimuthVector", "noise"):
        lines = _floats(v["line"])
        values = _floats(v["noiseAzimuthLut"])
        if lines.size != values.size or lines.size == 0:
            raise ProductError(
                f"{where}: an azimuth noise vector has {lines.size} lines but {values.size} values"
            )
        blocks.append(
            AzimuthBlock(
                swath=str(v.get("swath", "")),
                first_line=int(v["firstAzimuthLine"]),
                last_line=int(v["lastAzimuthLine"]),
                first_sample=int(v["firstRangeSample"]),
                last_sample=int(v["lastRangeSample"]),
                lines=lines,
                values=values,
            )
        )
    return NoiseModel(rng, tuple(blocks))
