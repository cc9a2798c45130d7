"""Shared lazy, windowed raster reading for the optical readers (S2, STAC/COG, GeoTIFF, Landsat).

Every band becomes a dask-backed :class:`xarray.DataArray` whose chunks are whole multiples of
the file's internal tiles (JPEG2000 code-blocks/tiles, GeoTIFF blocks). Each chunk task opens
the file itself and reads one window, so the threaded dask scheduler decodes windows in
parallel on all cores with no global lock. Dask keys are deterministic (a token of the file
path, size, modification time, band index and window grid).

:class:`RasterProductBase` implements the common raster-product interface (``band``,
``reflectance``, ``scl``, ``to_dataset``, ``describe``) on top of three small hooks that each
reader provides.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np

from rus.products._windows import _read_window
from rus.products.errors import ProductError

if TYPE_CHECKING:
    import xarray as xr
    from affine import Affine
    from shapely.geometry.base import BaseGeometry

#: GDAL options for every windowed read: no directory listing on open (sidecar search).
GDAL_READ_OPTIONS: dict[str, str] = {"GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR"}


@dataclass(frozen=True)
class RasterMetadata:
    """Product-level metadata common to every optical reader.

    Attributes
    ----------
    mission : str
        E.g. ``"Sentinel-2A"``, ``"LANDSAT_8"``, ``"unknown"``.
    product_type : str
        E.g. ``"S2MSI2A"``, ``"L1TP"``, ``"GeoTIFF"``.
    sensing_time : datetime or None
        Tz-aware UTC start of sensing.
    crs : str
        ``"EPSG:32629"`` or a WKT string.
    footprint : shapely geometry or None
        Lon/lat (EPSG:4326) polygon.
    simulated : bool
        True for products written by ``rus simulate``.
    cloud_cover : float or None
        Percent.
    tile_id : str or None
        MGRS tile (``"29TNE"``) or WRS path/row (``"227074"``).
    """

    mission: str
    product_type: str
    sensing_time: datetime | None
    crs: str
    footprint: BaseGeometry | None
    simulated: bool = False
    cloud_cover: float | None = None
    tile_id: str | None = None
    stop_time: datetime | None = None
    processing_baseline: str | None = None
    product_name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def level(self) -> str:
        """Alias of :attr:`product_type`."""
        return self.product_type


class RasterProduct(Protocol):
    """The common interface of every optical reader (S2 SAFE, STAC Item, GeoTIFF, Landsat)."""

    metadata: RasterMetadata
    band_names: tuple[str, ...]

    def band(self, name: str, resolution: float | None = None) -> xr.DataArray:
        """Raw DN, lazy, dims (y, x), georeferenced with rioxarray."""
        ...

    def reflectance(self, name: str, resolution: float | None = None) -> xr.DataArray:
        """Float32 reflectance (units ``"1"``), NaN where no data."""
        ...

    def scl(self, resolution: float = 20) -> xr.DataArray:
        """Scene classification (uint8); ProductError when the product has none."""
        ...

    def to_dataset(
        self, bands: Sequence[str], resolution: float | None = None, *, reflectance: bool = True
    ) -> xr.Dataset:
        """The named bands on one grid; ProductError when one is missing at that resolution."""
        ...

    def describe(self) -> dict[str, Any]:
        """JSON-ready description for ``rus info``."""
        ...


@dataclass(frozen=True)
class BandFile:
    """One band of one raster file, with the grid it lies on.

    ``transform``/``crs`` may come from the file or from product metadata (S2 MTD_TL.xml,
    Landsat MTL); ``georef_source`` says which.
    """

    path: str
    bidx: int
    width: int
    height: int
    dtype: str
    block: tuple[int, int]
    transform: Affine
    crs: str
    nodata: float | None = None
    georef_source: str = "file"

    @property
    def resolution(self) -> float:
        """Pixel size in CRS units (x)."""
        return float(abs(self.transform.a))


def open_band_file(
    path: str,
    bidx: int = 1,
    *,
    transform: Affine | None = None,
    crs: str | None = None,
    georef_source: str | None = None,
    label: str | None = None,
) -> BandFile:
    """Read the header of ``path`` (no pixels) and return its :class:`BandFile`.

    Parameters
    ----------
    path : str
        Local path or GDAL path (``/vsizip/``, ``/vsicurl/``).
    bidx : int
        1-based band index.
    transform, crs : optional
        Override the file's georeferencing (products whose metadata is authoritative).
    georef_source : str, optional
        Where the override comes from (recorded in attributes).
    label : str, optional
        Name used in error messages (defaults to ``path``).
    """
    import warnings

    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    name = label or path
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            ds_cm = rasterio.open(path)
        with rasterio.Env(**GDAL_READ_OPTIONS), ds_cm as ds:
            if not 1 <= bidx <= ds.count:
                raise ProductError(f"{name}: has {ds.count} band(s), band {bidx} requested")
            file_crs = ds.crs.to_string() if ds.crs else None
            file_transform = ds.transform
            has_georef = not file_transform.is_identity
            block = ds.block_shapes[bidx - 1]
            bf = BandFile(
                path=path,
                bidx=bidx,
                width=ds.width,
                height=ds.height,
                dtype=ds.dtypes[bidx - 1],
                block=(int(block[0]), int(block[1])),
                transform=transform if transform is not None else file_transform,
                crs=crs or file_crs or "",
                nodata=ds.nodatavals[bidx - 1],
                georef_source=georef_source or ("file" if has_georef else "none"),
            )
    except RasterioIOError as exc:
        raise ProductError(f"{name}: not a readable raster ({exc})") from exc
    if not bf.crs or (transform is None and not has_georef):
        raise ProductError(
            f"{name}: the raster carries no georeferencing (CRS/transform); pass crs= and "
            "transform= or use a reader that takes it from product metadata"
        )
    return bf


def chunk_shape(bf: BandFile, target: int | None = None) -> tuple[int, int]:
    """Chunk (rows, cols) that is a whole multiple of the file's blocks, near ``target`` px.

    JPEG2000 files default to a 1024 target (decode is the cost: finer parallelism), other
    formats to 2048. Strip-organised files (blocks as wide as the image) get full-width chunks
    of about ``target**2`` pixels.
    """
    bh, bw = bf.block
    if target is None:
        target = 1024 if bf.path.lower().endswith(".jp2") else 2048
    if bw >= bf.width:  # strips
        rows = max(1, (target * target) // max(bf.width, 1))
        rows = max(bh, (rows // bh) * bh)
        return (min(rows, bf.height), bf.width)
    ky = max(1, round(target / bh))
    kx = max(1, round(target / bw))
    return (min(bh * ky, bf.height), min(bw * kx, bf.width))


def _axis_chunks(size: int, step: int) -> tuple[int, ...]:
    full, rest = divmod(size, step)
    return (step,) * full + ((rest,) if rest else ())


def band_windows(bf: BandFile, chunks: tuple[int, int] | None = None) -> list[tuple[Any, ...]]:
    """The read arguments of every chunk of :func:`lazy_band` (same chunking), row-major.

    Each item is ``(path, bidx, row0, row1, col0, col1, dtype)``: what the dask task passes
    to the reader, and the key :func:`rus.products._windows.prefetch_windows` takes.
    """
    ch = chunks or chunk_shape(bf)
    out: list[tuple[Any, ...]] = []
    r0 = 0
    for h in _axis_chunks(bf.height, ch[0]):
        c0 = 0
        for w in _axis_chunks(bf.width, ch[1]):
            out.append((bf.path, bf.bidx, r0, r0 + h, c0, c0 + w, bf.dtype))
            c0 += w
        r0 += h
    return out


def _token(bf: BandFile, chunks: tuple[int, int]) -> str:
    from dask.base import tokenize

    stat: tuple[int, int] | None = None
    if os.path.exists(bf.path):
        st = os.stat(bf.path)
        stat = (st.st_size, st.st_mtime_ns)
    elif bf.path.startswith("/vsizip/"):
        archive = bf.path[len("/vsizip/") :].split(".zip/", 1)[0] + ".zip"
        if os.path.exists(archive):
            st = os.stat(archive)
            stat = (st.st_size, st.st_mtime_ns)
    return str(tokenize(bf.path, bf.bidx, stat, bf.width, bf.height, bf.dtype, chunks))


def lazy_band(
    bf: BandFile,
    name: str,
    *,
    chunks: tuple[int, int] | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> xr.DataArray:
    """A lazy dask-backed DataArray of raw values of ``bf`` with x/y coordinates and CRS.

    Parameters
    ----------
    bf : BandFile
        The band to read.
    name : str
        DataArray name (and dask key prefix).
    chunks : (int, int), optional
        Chunk shape; default :func:`chunk_shape` (aligned to the file's blocks).
    attrs : mapping, optional
        Extra attributes.

    Returns
    -------
    xarray.DataArray
        dims ``("y", "x")``, coordinates = pixel centres in CRS units.
    """
    import dask.array as da
    import xarray as xr
    from dask.highlevelgraph import HighLevelGraph

    ch = chunks or chunk_shape(bf)
    ych = _axis_chunks(bf.height, ch[0])
    xch = _axis_chunks(bf.width, ch[1])
    key = f"read-{name}-{_token(bf, ch)}"
    windows = iter(band_windows(bf, ch))
    graph: dict[Any, Any] = {
        (key, i, j): (_read_window, *next(windows))
        for i in range(len(ych))
        for j in range(len(xch))
    }
    hlg = HighLevelGraph.from_collections(key, graph, dependencies=[])
    arr = da.Array(hlg, key, chunks=(ych, xch), dtype=np.dtype(bf.dtype))  # type: ignore[no-untyped-call]
    t = bf.transform
    x = t.c + (np.arange(bf.width) + 0.5) * t.a
    y = t.f + (np.arange(bf.height) + 0.5) * t.e
    out = xr.DataArray(arr, dims=("y", "x"), coords={"y": y, "x": x}, name=name)
    out.attrs.update(
        {
            "source_file": bf.path,
            "band_index": bf.bidx,
            "georeferencing_source": bf.georef_source,
            **dict(attrs or {}),
        }
    )
    return georeference(out, bf.transform, bf.crs)


def georeference(arr: xr.DataArray, transform: Affine, crs: str) -> xr.DataArray:
    """Write ``crs`` and ``transform`` with rioxarray (``arr.rio.crs``/``rio.transform()``)."""
    import rioxarray  # noqa: F401  (registers the .rio accessor)

    out = arr.rio.write_crs(crs)
    out = out.rio.write_transform(transform)
    return cast("xr.DataArray", out)


def scale_to_reflectance(
    dn: xr.DataArray,
    scale: float,
    offset: float,
    nodata: float | None,
    *,
    long_name: str,
    extra_attrs: Mapping[str, Any] | None = None,
) -> xr.DataArray:
    """``DN * scale + offset`` as float32, NaN where ``DN == nodata``.

    Parameters
    ----------
    dn : DataArray
        Raw values.
    scale, offset : float
        Linear rescaling (S2: ``1/QUANTIFICATION``, ``ADD_OFFSET/QUANTIFICATION``).
    nodata : float or None
        DN value meaning no data.
    long_name : str
        Attribute of the result.
    """
    if nodata is not None and isinstance(nodata, float) and math.isnan(nodata):
        nodata = None
    table = _reflectance_table(dn.dtype, scale, offset, nodata)
    if dn.chunks is not None:
        data = dn.data.map_blocks(
            _scale_block,
            dtype=np.float32,
            token="reflectance",
            scale=scale,
            offset=offset,
            nodata=nodata,
            table=table,
        )
    else:
        data = _scale_block(
            np.asarray(dn.values), scale=scale, offset=offset, nodata=nodata, table=table
        )
    out = dn.copy(data=data)
    out.attrs = {
        **{k: v for k, v in dn.attrs.items() if k not in {"units", "long_name"}},
        "units": "1",
        "long_name": long_name,
        "scale_factor_applied": scale,
        "add_offset_applied": offset,
        "scale": "reflectance 0..1 (not x 10000)",
        **dict(extra_attrs or {}),
    }
    out.name = dn.name
    return out


def _reflectance_table(
    dtype: np.dtype[Any], scale: float, offset: float, nodata: float | None
) -> np.ndarray[Any, Any] | None:
    """Float32 reflectance of every DN of an 8- or 16-bit unsigned band (None for others).

    The same float64 arithmetic as :func:`_scale_block`, done once per DN value: looking the
    table up gives bit-identical values with one pass and no float64 temporaries.
    """
    if dtype not in (np.dtype(np.uint8), np.dtype(np.uint16)):
        return None
    dn = np.arange(np.iinfo(dtype).max + 1, dtype=dtype)
    table = _scale_block(dn, scale=scale, offset=offset, nodata=nodata, table=None)
    return np.asarray(table)


def _scale_block(
    dn: np.ndarray[Any, Any],
    *,
    scale: float,
    offset: float,
    nodata: float | None,
    table: np.ndarray[Any, Any] | None,
) -> np.ndarray[Any, Any]:
    """``float32(float64(DN) * scale + offset)``, NaN where ``DN == nodata`` (one block)."""
    if table is not None:
        return np.asarray(table.take(dn))
    vals = dn.astype(np.float64)
    vals *= scale
    vals += offset
    out = vals.astype(np.float32)
    if nodata is not None:
        out[dn == nodata] = np.nan
    return out


def _fmt_time(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat().replace("+00:00", "Z")


class RasterProductBase:
    """Common implementation of :class:`RasterProduct` over three reader hooks.

    Subclasses set ``metadata``, ``band_names``, ``source`` and implement
    :meth:`_band_file`, :meth:`_resolutions` and :meth:`_scaling`.
    """

    metadata: RasterMetadata
    band_names: tuple[str, ...]
    source: str
    scl_name = "SCL"

    # -- hooks -----------------------------------------------------------------------------
    def _resolutions(self, name: str) -> tuple[float, ...]:
        """Resolutions (metres) at which band ``name`` exists, native first."""
        raise NotImplementedError

    def _band_file(self, name: str, resolution: float) -> BandFile:
        """The file holding ``name`` at ``resolution``."""
        raise NotImplementedError

    def _scaling(self, name: str) -> tuple[float, float, float | None]:
        """``(scale, offset, nodata)`` so that reflectance = DN * scale + offset."""
        raise NotImplementedError

    # -- common interface --------------------------------------------------------------------
    def _check_band(self, name: str) -> None:
        if name not in self.band_names:
            raise ProductError(
                f"{self.source}: no band {name!r} (available: {', '.join(self.band_names)})"
            )

    def _pick_resolution(self, name: str, resolution: float | None) -> float:
        self._check_band(name)
        avail = self._resolutions(name)
        if not avail:
            raise ProductError(f"{self.source}: band {name!r} has no readable file")
        if resolution is None:
            return avail[0]
        for r in avail:
            if math.isclose(r, float(resolution), rel_tol=1e-6):
                return r
        raise ProductError(
            f"{self.source}: band {name!r} is not available at {resolution:g} m "
            f"(available: {', '.join(f'{r:g} m' for r in avail)}); resample explicitly"
        )

    def band_file(self, name: str, resolution: float | None = None) -> BandFile:
        """The file, band index, size, tiling and georeferencing of band ``name`` (no read)."""
        return self._band_file(name, self._pick_resolution(name, resolution))

    def band(self, name: str, resolution: float | None = None) -> xr.DataArray:
        """Raw DN of band ``name`` (lazy, dask), dims (y, x), CRS/transform via rioxarray."""
        res = self._pick_resolution(name, resolution)
        bf = self._band_file(name, res)
        attrs = {
            "long_name": f"{name} digital number",
            "units": "1",
            "resolution_m": res,
            "simulated": int(self.metadata.simulated),
        }
        return lazy_band(bf, name, attrs=attrs)

    def reflectance(self, name: str, resolution: float | None = None) -> xr.DataArray:
        """Float32 reflectance of band ``name`` (units "1"), NaN where DN is no data."""
        if name == self.scl_name:
            raise ProductError(f"{self.source}: {name} is a classification, not a reflectance")
        dn = self.band(name, resolution)
        scale, offset, nodata = self._scaling(name)
        return scale_to_reflectance(
            dn, scale, offset, nodata, long_name=f"{name} reflectance ({self.metadata.level})"
        )

    def scl(self, resolution: float = 20) -> xr.DataArray:
        """Scene classification layer (uint8, Sen2Cor classes 0..11)."""
        if self.scl_name not in self.band_names:
            raise ProductError(
                f"{self.source}: no scene classification (SCL) in a {self.metadata.level} product"
            )
        out = self.band(self.scl_name, resolution)
        out.attrs["long_name"] = "scene classification (Sen2Cor SCL classes 0..11)"
        return out

    def to_dataset(
        self, bands: Sequence[str], resolution: float | None = None, *, reflectance: bool = True
    ) -> xr.Dataset:
        """The named bands (``"SCL"`` allowed) on ONE grid; never resamples.

        Raises
        ------
        ProductError
            A band is missing, or not available at ``resolution`` (or, with ``resolution``
            None, the bands' native resolutions differ).
        """
        import xarray as xr

        if not bands:
            raise ProductError(f"{self.source}: to_dataset needs at least one band")
        res = resolution
        if res is None:
            natives = {b: self._pick_resolution(b, None) for b in bands}
            if len(set(natives.values())) > 1:
                raise ProductError(
                    f"{self.source}: bands {', '.join(bands)} have different native resolutions "
                    f"({natives}); pass resolution="
                )
            res = next(iter(natives.values()))
        arrays: dict[str, xr.DataArray] = {}
        for b in bands:
            if b == self.scl_name:
                arrays[b] = self.scl(res)
            elif reflectance:
                arrays[b] = self.reflectance(b, res)
            else:
                arrays[b] = self.band(b, res)
        first = next(iter(arrays.values()))
        for b, a in arrays.items():
            if a.shape != first.shape or not (
                np.allclose(a.x.values[[0, -1]], first.x.values[[0, -1]])
                and np.allclose(a.y.values[[0, -1]], first.y.values[[0, -1]])
            ):
                raise ProductError(f"{self.source}: band {b} is not on the grid of the others")
            arrays[b] = a.assign_coords(x=first.x, y=first.y)
        ds = xr.Dataset(arrays)
        ds.attrs = {
            "mission": self.metadata.mission,
            "product_type": self.metadata.product_type,
            "simulated": int(self.metadata.simulated),
            "resolution_m": float(res),
            "source": self.source,
        }
        if self.metadata.sensing_time is not None:
            ds.attrs["sensing_time"] = _fmt_time(self.metadata.sensing_time)
        return ds

    def describe(self) -> dict[str, Any]:
        """JSON-ready description (metadata and grids only; no pixel is decoded)."""
        from shapely.geometry import mapping

        m = self.metadata
        bands: dict[str, list[float]] = {}
        shapes: dict[str, list[int]] = {}
        chunks: dict[str, list[int]] = {}
        missing: list[str] = []
        for b in self.band_names:
            try:
                bands[b] = [float(r) for r in self._resolutions(b)]
                for r in bands[b]:
                    key = f"{r:g}m"
                    if key not in shapes:
                        bf = self._band_file(b, r)
                        shapes[key] = [bf.height, bf.width]
                        chunks[key] = list(chunk_shape(bf))
            except ProductError as exc:
                missing.append(str(exc))
        out: dict[str, Any] = {
            "mission": m.mission,
            "product_type": m.product_type,
            "product_name": m.product_name,
            "simulated": m.simulated,
            "start_time": _fmt_time(m.sensing_time),
            "stop_time": _fmt_time(m.stop_time or m.sensing_time),
            "footprint": mapping(m.footprint) if m.footprint is not None else None,
            "crs": m.crs,
            "tile_id": m.tile_id,
            "cloud_cover": m.cloud_cover,
            "processing_baseline": m.processing_baseline,
            "bands": bands,
            "shapes": shapes,
            "chunks": chunks,
        }
        if missing:
            out["problems"] = missing
        out.update({k: v for k, v in m.extra.items() if k not in out})
        return out
