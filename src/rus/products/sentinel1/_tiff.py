"""Reading measurement TIFF windows from dask tasks (thread-safe, bounded memory).

A SAFE directory (or a zip whose TIFF members are *stored*) is read with one short-lived GDAL
handle per task: no handle is shared between threads, and closing it frees its blocks from
GDAL's cache. A TIFF *deflated* inside a zip cannot be seeked: every new handle would inflate the
member from its start, which makes a full scene quadratic (minutes). Those are read through one
long-lived handle per member, shared by the threads under a lock (reads are serialised, so the
member is inflated about once, front to back, while other threads calibrate), under a 256 MiB
GDAL block cache so that the long-lived handle does not pile up cached blocks.
"""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rus.products.errors import ProductError

#: GDAL block cache while reading through long-lived (per-thread) handles.
CACHE_BYTES = 256 * 2**20
_MAX_HANDLES = 4
_registry_lock = threading.Lock()
_shared: OrderedDict[str, tuple[threading.Lock, Any]] = OrderedDict()


@dataclass(frozen=True)
class TiffRef:
    """A measurement TIFF as GDAL opens it, and how to read it.

    Attributes
    ----------
    path : str
        File path or ``/vsizip/`` path.
    sequential : bool
        True for a deflated zip member: read through one shared, locked handle.
    """

    path: str
    sequential: bool = False


def zip_member_deflated(gdal_path: str) -> bool:
    """True when a ``/vsizip/ZIP/member`` path names a compressed (not stored) member."""
    import zipfile

    inner = gdal_path.removeprefix("/vsizip/")
    cut = inner.lower().find(".zip/")
    if cut < 0:
        return False
    archive, member = inner[: cut + 4], inner[cut + 5 :]
    try:
        with zipfile.ZipFile(archive) as zf:
            return zf.getinfo(member).compress_type != zipfile.ZIP_STORED
    except (OSError, KeyError, zipfile.BadZipFile):
        return False


def _shared_handle(path: str) -> tuple[threading.Lock, Any]:
    """The process-wide handle of a deflated member and the lock that serialises its use."""
    import rasterio

    with _registry_lock:
        entry = _shared.get(path)
        if entry is None:
            entry = (threading.Lock(), rasterio.open(path))
            _shared[path] = entry
            while len(_shared) > _MAX_HANDLES:
                _, (_, old) = _shared.popitem(last=False)
                old.close()
        _shared.move_to_end(path)
        return entry


def read_window(ref: TiffRef, r0: int, r1: int, c0: int, c1: int) -> NDArray[np.uint16]:
    """Band 1 of lines ``r0:r1``, pixels ``c0:c1`` as uint16."""
    import rasterio
    from rasterio.windows import Window

    window = Window(c0, r0, c1 - c0, r1 - r0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=rasterio.errors.NotGeoreferencedWarning)
        try:
            if ref.sequential:
                with rasterio.Env(GDAL_CACHEMAX=CACHE_BYTES):
                    lock, ds = _shared_handle(ref.path)
                    with lock:
                        data = ds.read(1, window=window)
            else:
                with rasterio.open(ref.path) as ds:
                    data = ds.read(1, window=window)
        except rasterio.errors.RasterioError as exc:
            raise ProductError(
                f"{ref.path}: cannot read lines {r0}:{r1} pixels {c0}:{c1} ({exc})"
            ) from exc
    return np.asarray(data, dtype=np.uint16)


def check_tiff(path: str, shape: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    """Open a measurement TIFF header; check size and type; return (shape, block shape)."""
    import rasterio

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=rasterio.errors.NotGeoreferencedWarning)
        try:
            with rasterio.open(path) as ds:
                tshape = (ds.height, ds.width)
                dtype = ds.dtypes[0]
                count = ds.count
                block = ds.block_shapes[0]
        except rasterio.errors.RasterioError as exc:
            raise ProductError(f"{path}: not a readable measurement TIFF ({exc})") from exc
    if count != 1 or dtype != "uint16":
        raise ProductError(
            f"{path}: not a Sentinel-1 GRD measurement (expected 1 band of uint16, found {count} "
            f"band(s) of {dtype})"
        )
    if tshape != tuple(shape):
        raise ProductError(
            f"{path}: measurement is {tshape[0]} x {tshape[1]} but the annotation says "
            f"{shape[0]} lines x {shape[1]} pixels"
        )
    return tshape, (int(block[0]), int(block[1]))
