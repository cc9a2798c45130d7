"""Lazy Sentinel-1 GRD reader: :func:`open_s1_grd` and :class:`S1GRD`.

Opening parses the manifest and annotation XML only and reads each measurement TIFF's header (to
check it and to align chunks with its blocks). Pixels are read by dask tasks, one per chunk, each
opening the TIFF itself (no shared handle, no global lock: GDAL reads in parallel). Calibration
LUTs and noise are evaluated per chunk from the sparse vectors, and :meth:`S1GRD.intensity` fuses
read + LUT + noise + calibration into a single task per chunk, so memory stays bounded by a few
chunks whatever the scene size.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from rus.products._safe import SafeSource
from rus.products.errors import ProductError
from rus.products.sentinel1._tiff import TiffRef, check_tiff, read_window, zip_member_deflated
from rus.products.sentinel1.annotation import (
    PolFiles,
    S1Metadata,
    build_metadata,
    check_pol_files,
    find_pol_files,
    read_annotation,
)
from rus.products.sentinel1.calibration import (
    LONG_NAMES,
    LUT_TAGS,
    CalibrationKind,
    VectorGrid,
    read_calibration,
)
from rus.products.sentinel1.geolocation import GCPGeolocation, from_points
from rus.products.sentinel1.noise import NoiseModel, read_noise

if TYPE_CHECKING:
    import xarray as xr

#: Default chunk size target in pixels (16 Mpx: 32 MB of uint16, 64 MB of float32).
DEFAULT_CHUNK_PIXELS = 16 * 1024 * 1024

Chunks = tuple[tuple[int, ...], tuple[int, ...]]


def _lut_block(grid: VectorGrid, r0: int, r1: int, c0: int, c1: int) -> NDArray[np.float32]:
    return grid.evaluate(np.arange(r0, r1), np.arange(c0, c1))


def _noise_block(model: NoiseModel, r0: int, r1: int, c0: int, c1: int) -> NDArray[np.float32]:
    return model.evaluate(np.arange(r0, r1), np.arange(c0, c1))


def _intensity_block(
    ref: TiffRef, grid: VectorGrid, model: NoiseModel | None, r0: int, r1: int, c0: int, c1: int
) -> NDArray[np.float32]:
    """Read DN and calibrate one chunk in a single task: (DN**2 - noise) / A**2 (fused kernel)."""
    from rus.products.sentinel1._kernels import fused_intensity

    dn = read_window(ref, r0, r1, c0, c1)
    rows, cols = np.arange(r0, r1), np.arange(c0, c1)
    if model is None:
        return fused_intensity(dn, grid.tables(rows, cols), None, None)
    return fused_intensity(
        dn,
        grid.tables(rows, cols),
        model.range.tables(rows, cols),
        model.azimuth_tables(rows, cols),
    )


def _block_array(
    name: str, chunks: Chunks, dtype: type[np.generic], func: Callable[..., Any], *args: Any
) -> Any:
    """A dask array whose block (i, j) is ``func(*args, r0, r1, c0, c1)``."""
    import dask.array as da
    from dask.highlevelgraph import HighLevelGraph

    r_off = np.cumsum((0, *chunks[0]))
    c_off = np.cumsum((0, *chunks[1]))
    dsk: dict[Any, Any] = {}
    for i in range(len(chunks[0])):
        for j in range(len(chunks[1])):
            dsk[(name, i, j)] = (
                func,
                *args,
                int(r_off[i]),
                int(r_off[i + 1]),
                int(c_off[j]),
                int(c_off[j + 1]),
            )
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=())
    return da.Array(  # type: ignore[no-untyped-call]
        graph, name, chunks, dtype=dtype, meta=np.empty((0, 0), dtype=dtype)
    )


def _split(size: int, step: int) -> tuple[int, ...]:
    n_full, rest = divmod(size, step)
    return (step,) * n_full + ((rest,) if rest else ())


def chunk_layout(
    shape: tuple[int, int], block: tuple[int, int], chunks: int | tuple[int, int] | None
) -> Chunks:
    """Chunks aligned to whole TIFF blocks (strips or tiles).

    ``chunks=None`` picks about :data:`DEFAULT_CHUNK_PIXELS` per chunk: full-width row bands for
    striped files, square-ish multiples of the tile for tiled files. Requested sizes are rounded
    up to block multiples (-1 means the full axis).
    """
    lines, pixels = shape
    bh, bw = max(1, min(block[0], lines)), max(1, min(block[1], pixels))
    if chunks is None:
        if bw >= pixels:
            want = (max(1, DEFAULT_CHUNK_PIXELS // pixels), pixels)
        else:
            side = int(math.sqrt(DEFAULT_CHUNK_PIXELS))
            want = (side, side)
    elif isinstance(chunks, int):
        want = (chunks, chunks)
    else:
        want = (int(chunks[0]), int(chunks[1]))
    out = []
    for req, blk, size in zip(want, (bh, bw), (lines, pixels), strict=True):
        req = size if req == -1 or req >= size else req
        if req <= 0:
            raise ValueError(f"chunk sizes must be positive or -1, got {chunks!r}")
        aligned = min(size, math.ceil(req / blk) * blk)
        out.append(_split(size, aligned))
    return out[0], out[1]


class S1GRD:
    """An opened Sentinel-1 GRD product (lazy: nothing but XML and TIFF headers read yet).

    Use :func:`open_s1_grd` to create one.
    """

    def __init__(
        self,
        source: SafeSource,
        files: dict[str, PolFiles],
        metadata: S1Metadata,
        geolocation: GCPGeolocation,
        chunks: int | tuple[int, int] | None,
    ) -> None:
        self._source = source
        self._files = files
        self.metadata = metadata
        self._geolocation = geolocation
        self._chunks_req = chunks
        self.path = Path(source.path)
        self.name = source.name
        self._tiff: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {}
        self._cal: dict[str, dict[str, VectorGrid]] = {}
        self._noise: dict[str, NoiseModel] = {}

    def __repr__(self) -> str:
        m = self.metadata
        sim = ", SIMULATED" if m.simulated else ""
        return f"<S1GRD {self.name} {m.mode} {'/'.join(m.polarisations)} {m.shape}{sim}>"

    # -- files ---------------------------------------------------------------------------------
    def _pol(self, pol: str) -> PolFiles:
        key = pol.upper()
        if key not in self._files:
            raise ProductError(
                f"{self.path}: no polarisation {pol!r} "
                f"(has {', '.join(self.metadata.polarisations)})"
            )
        return self._files[key]

    def _measurement_path(self, pol: str) -> str:
        member = self._pol(pol).measurement
        if member is None:
            raise ProductError(f"{self.path}: no measurement TIFF for polarisation {pol.upper()}")
        return self._source.gdal_path(member)

    def _tiff_ref(self, pol: str) -> TiffRef:
        member = self._pol(pol).measurement
        path = self._measurement_path(pol)
        deflated = member is not None and self._source.is_zip and zip_member_deflated(path)
        return TiffRef(path, sequential=deflated)

    def _tiff_info(self, pol: str) -> tuple[tuple[int, int], tuple[int, int]]:
        """``(shape, block_shape)`` of a measurement TIFF, checked against the annotation."""
        key = pol.upper()
        if key not in self._tiff:
            self._tiff[key] = check_tiff(self._measurement_path(key), self.metadata.shape)
        return self._tiff[key]

    def chunks(self, pol: str) -> Chunks:
        """Dask chunks used for ``pol`` (aligned to the TIFF's blocks)."""
        shape, block = self._tiff_info(pol)
        return chunk_layout(shape, block, self._chunks_req)

    def _token(self, *parts: Any) -> str:
        from dask.base import tokenize

        return str(tokenize(str(self.path.resolve()), *parts))

    def _calibration(self, pol: str) -> dict[str, VectorGrid]:
        key = pol.upper()
        if key not in self._cal:
            member = self._pol(key).calibration
            if member is None:
                raise ProductError(f"{self.path}: missing calibration file for polarisation {key}")
            self._cal[key] = read_calibration(self._source, member)
        return self._cal[key]

    def _noise_model(self, pol: str) -> NoiseModel:
        key = pol.upper()
        if key not in self._noise:
            member = self._pol(key).noise
            if member is None:
                raise ProductError(f"{self.path}: missing noise file for polarisation {key}")
            self._noise[key] = read_noise(self._source, member)
        return self._noise[key]

    def _wrap(self, data: Any, name: str, attrs: dict[str, Any]) -> xr.DataArray:
        import xarray as xr

        lines, pixels = self.metadata.shape
        return xr.DataArray(
            data,
            dims=("line", "pixel"),
            coords={"line": np.arange(lines), "pixel": np.arange(pixels)},
            name=name,
            attrs={**attrs, "product": self.name, "simulated": int(self.metadata.simulated)},
        )

    # -- public arrays -------------------------------------------------------------------------
    def measurement(self, pol: str) -> xr.DataArray:
        """Digital numbers (uint16, 0 = no data) of ``pol``, dask-backed, dims (line, pixel)."""
        key = pol.upper()
        ref = self._tiff_ref(key)
        chunks = self.chunks(key)
        name = f"s1-dn-{self._token(key, chunks)}"
        data = _block_array(name, chunks, np.uint16, read_window, ref)
        return self._wrap(
            data,
            f"dn_{key.lower()}",
            {
                "units": "1",
                "long_name": f"digital number (detected amplitude), {key}",
                "polarisation": key,
                "nodata": 0,
            },
        )

    def calibration_lut(self, pol: str, kind: CalibrationKind = "sigma0") -> xr.DataArray:
        """Full-resolution calibration LUT ``A`` (float32, lazy) for ``kind``.

        Bilinear over (line, pixel) from the calibration vectors; intensity is ``DN**2 / A**2``.
        """
        if kind not in LUT_TAGS:
            raise ValueError(f"kind must be one of {sorted(LUT_TAGS)}, got {kind!r}")
        key = pol.upper()
        grid = self._calibration(key)[kind]
        chunks = self.chunks(key)
        name = f"s1-lut-{self._token(key, kind, chunks)}"
        data = _block_array(name, chunks, np.float32, _lut_block, grid)
        return self._wrap(
            data,
            f"lut_{kind}_{key.lower()}",
            {
                "units": "1",
                "long_name": f"calibration LUT A for {kind} ({LUT_TAGS[kind]}), {key}",
                "kind": kind,
                "polarisation": key,
                "scale": "intensity = DN**2 / A**2",
            },
        )

    def noise_power(self, pol: str) -> xr.DataArray:
        """Full-resolution thermal noise power in DN**2 (float32, lazy).

        Range vectors (bilinear) times azimuth vectors for IPF >= 2.9; range only before.
        """
        key = pol.upper()
        model = self._noise_model(key)
        chunks = self.chunks(key)
        name = f"s1-noise-{self._token(key, chunks)}"
        data = _block_array(name, chunks, np.float32, _noise_block, model)
        return self._wrap(
            data,
            f"noise_{key.lower()}",
            {
                "units": "1",
                "long_name": f"thermal noise power (DN**2 units), {key}",
                "polarisation": key,
                "azimuth_vectors": int(bool(model.azimuth)),
            },
        )

    def intensity(self, pol: str, kind: str = "sigma0", denoise: bool = True) -> xr.DataArray:
        """Calibrated linear backscatter ``(DN**2 - noise) / A**2`` (float32, lazy).

        One fused task per chunk (read + LUT + noise + calibrate). Negative values after noise
        removal are clipped to 0 (as SNAP does); NaN where DN is 0 (no data). Units ``m2 m-2``
        (linear: ``10*log10`` gives dB).
        """
        if kind not in LUT_TAGS:
            raise ValueError(f"kind must be one of {sorted(LUT_TAGS)}, got {kind!r}")
        key = pol.upper()
        ref = self._tiff_ref(key)
        grid = self._calibration(key)[kind]
        model = self._noise_model(key) if denoise else None
        chunks = self.chunks(key)
        name = f"s1-{kind}-{self._token(key, kind, denoise, chunks)}"
        data = _block_array(name, chunks, np.float32, _intensity_block, ref, grid, model)
        long_name = LONG_NAMES[kind] + (", thermal noise removed" if denoise else "")
        return self._wrap(
            data,
            f"{kind}_{key.lower()}",
            {
                "units": "m2 m-2",
                "long_name": f"{long_name}, {key}",
                "kind": kind,
                "polarisation": key,
                "denoised": int(denoise),
                "scale": "linear (10*log10 gives dB)",
            },
        )

    @property
    def geolocation(self) -> GCPGeolocation:
        """Pixel <-> lon/lat mapping from the annotation's GCP grid."""
        return self._geolocation

    def describe(self) -> dict[str, Any]:
        """JSON-ready description for ``rus info`` (reads no pixel)."""
        from shapely.geometry import mapping

        m = self.metadata
        geom = mapping(m.footprint)
        footprint = {
            "type": geom["type"],
            "coordinates": [
                [[round(x, 6), round(y, 6)] for x, y in ring] for ring in geom["coordinates"]
            ],
        }
        chunks: dict[str, list[int] | None] = {}
        blocks: dict[str, list[int] | None] = {}
        for pol in m.polarisations:
            if self._files[pol].measurement is None:
                chunks[pol] = blocks[pol] = None
                continue
            ch = self.chunks(pol)
            chunks[pol] = [ch[0][0], ch[1][0]]
            blocks[pol] = list(self._tiff_info(pol)[1])
        return {
            "name": self.name,
            "mission": m.mission,
            "product_type": m.product_type,
            "product_class": f"GRD{m.resolution_class}",
            "mode": m.mode,
            "simulated": m.simulated,
            "start_time": m.start_time.isoformat(),
            "stop_time": m.stop_time.isoformat(),
            "pass_direction": m.pass_direction,
            "absolute_orbit": m.absolute_orbit,
            "relative_orbit": m.relative_orbit,
            "ipf_version": m.ipf_version,
            "polarisations": list(m.polarisations),
            "dims": ["line", "pixel"],
            "shapes": {pol: list(m.shape) for pol in m.polarisations},
            "chunks": chunks,
            "tiff_blocks": blocks,
            "pixel_spacing_m": {"range": m.range_pixel_spacing, "azimuth": m.azimuth_pixel_spacing},
            "footprint": footprint,
            "container": "zip" if self._source.is_zip else "SAFE directory",
        }


def open_s1_grd(
    path: str | os.PathLike[str],
    *,
    chunks: int | tuple[int, int] | None = None,
    strict: bool = True,
) -> S1GRD:
    """Open a Sentinel-1 GRD product (``.SAFE`` directory or ``.zip``) lazily.

    Parameters
    ----------
    path : path-like
        The ``S1x_IW_GRDH_...SAFE`` directory or the distributed ``.zip``.
    chunks : int or (int, int), optional
        Dask chunk size in (lines, pixels), rounded up to whole TIFF blocks; ``None`` picks about
        16 Mpx per chunk aligned to the blocks.
    strict : bool
        Require, for every polarisation with an annotation, its calibration, noise and measurement
        files, and check each TIFF's header (default). ``False`` opens incomplete products
        (missing files fail only when used).

    Raises
    ------
    ProductError
        Not a SAFE/zip, corrupt or truncated zip, missing or unreadable files, or XML that does
        not describe a Sentinel-1 GRD product; the message names the file and the problem.
    """
    source = SafeSource(path)
    files = find_pol_files(source)
    if strict:
        check_pol_files(source, files)
    elif not files:
        raise ProductError(f"{source.path}: no Sentinel-1 GRD product annotation in annotation/")
    first = files[sorted(files)[0]]
    ann = read_annotation(source, first.annotation)
    geoloc = from_points(ann.gcps, f"{source.path}: {first.annotation}")
    metadata = build_metadata(source, files, ann, geoloc.footprint())
    product = S1GRD(source, files, metadata, geoloc, chunks)
    if strict:
        for pol in metadata.polarisations:
            product.chunks(pol)  # validates each TIFF header and the chunk request
    return product
