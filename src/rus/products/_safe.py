"""Uniform access to a SAFE product stored as a directory or as the distributed ``.zip``.

GDAL reads zip members through ``/vsizip/``; XML members are read with :mod:`zipfile`.
"""

from __future__ import annotations

import fnmatch
import os
import zipfile
from pathlib import Path, PurePosixPath

from rus.products.errors import ProductError


class SafeSource:
    """A SAFE product: directory ``X.SAFE/`` or ``X.zip`` containing ``X.SAFE/``.

    Member paths are POSIX paths relative to the ``.SAFE`` root, e.g.
    ``annotation/s1a-iw-grd-vv-....xml``.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise ProductError(f"{self.path}: no such file or directory")
        self._zip: zipfile.ZipFile | None = None
        self._prefix = ""
        if self.path.is_dir():
            if not (self.path / "manifest.safe").is_file():
                raise ProductError(f"{self.path}: not a SAFE product (no manifest.safe)")
            self._members = sorted(
                p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_file()
            )
        elif zipfile.is_zipfile(self.path):
            try:
                self._zip = zipfile.ZipFile(self.path)
                names = self._zip.namelist()
            except (zipfile.BadZipFile, OSError) as exc:
                raise ProductError(f"{self.path}: corrupt or truncated zip ({exc})") from exc
            manifests = [n for n in names if PurePosixPath(n).name == "manifest.safe"]
            if not manifests:
                raise ProductError(f"{self.path}: zip holds no SAFE product (no manifest.safe)")
            self._prefix = manifests[0][: -len("manifest.safe")]
            self._members = sorted(
                n[len(self._prefix) :]
                for n in names
                if n.startswith(self._prefix) and not n.endswith("/")
            )
        else:
            if self.path.suffix.lower() == ".zip":
                raise ProductError(
                    f"{self.path}: corrupt or truncated zip (no central directory); "
                    "download it again"
                )
            raise ProductError(f"{self.path}: neither a .SAFE directory nor a .zip product")

    @property
    def name(self) -> str:
        """Product name without ``.SAFE``/``.zip`` (e.g. ``S1A_IW_GRDH_1SDV_...``)."""
        if self._zip is not None and self._prefix:
            return PurePosixPath(self._prefix.rstrip("/")).name.removesuffix(".SAFE")
        return self.path.name.removesuffix(".zip").removesuffix(".SAFE")

    @property
    def is_zip(self) -> bool:
        return self._zip is not None

    def members(self, pattern: str = "*") -> list[str]:
        """Member paths matching a glob ``pattern`` (``fnmatch`` on the relative path)."""
        return [m for m in self._members if fnmatch.fnmatch(m, pattern)]

    def read_bytes(self, member: str) -> bytes:
        """Bytes of one member; a clear :class:`ProductError` when missing or unreadable."""
        if member not in self._members:
            raise ProductError(f"{self.path}: missing file {member!r}")
        try:
            if self._zip is not None:
                return self._zip.read(self._prefix + member)
            return (self.path / member).read_bytes()
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise ProductError(f"{self.path}: cannot read {member!r} ({exc})") from exc

    def gdal_path(self, member: str) -> str:
        """A path GDAL/rasterio can open (``/vsizip/`` inside a zip)."""
        if member not in self._members:
            raise ProductError(f"{self.path}: missing file {member!r}")
        if self._zip is not None:
            return f"/vsizip/{self.path.resolve()}/{self._prefix}{member}"
        return str(self.path / member)

    def local_path(self, member: str) -> Path | None:
        """Filesystem path of a member for a directory product; None inside a zip."""
        return None if self._zip is not None else self.path / member

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
