"""The shared product store: each product held once under ``RUS_HOME/store``, indexed in the DB.

Files are read-only (0444, folders 0555) so workspaces mounting the store cannot alter them; every
write goes through :class:`ProductStore` (it lifts the folder permission for the instant of the
write). Holders (users, workspaces, jobs) reference products; unreferenced products are evicted
least-recently-used first when the size cap is reached.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from rus.db.base import make_engine, make_sessionmaker, session_scope, utcnow
from rus.db.models.store import StoredProduct, StoreReference
from rus.hub.errors import CorruptProductError, DiskFullError, StoreError
from rus.hub.query import SearchQuery
from rus.hub.records import ProductRecord, check_name
from rus.hub.stac import stac_item

HolderKind = Literal["user", "workspace", "job"]
FILE_MODE = 0o444
DIR_MODE = 0o555


@dataclass(frozen=True)
class QueryResult:
    """One page of a store query and the total number of matches."""

    rows: list[StoredProduct]
    total: int


def digests(path: Path, *, chunk: int = 8 << 20) -> dict[str, str]:
    """``{"MD5": ..., "BLAKE3": ...}`` of a file, in one read."""
    from rus.hub.download import new_hasher

    md5, b3 = new_hasher("MD5"), new_hasher("BLAKE3")
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            md5.update(block)
            b3.update(block)
    return {"MD5": str(md5.hexdigest()), "BLAKE3": str(b3.hexdigest())}


def _raise_disk_full(exc: OSError, what: Path) -> None:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        raise DiskFullError(
            f"{what}: no space left on the device; the store index is "
            "unchanged (free space or run `rus store evict`)"
        ) from exc


class ProductStore:
    """Product files under ``root`` indexed in the database at ``database_url``.

    Parameters
    ----------
    root
        Store folder (``Settings.resolved_home / "store"``).
    database_url
        SQLAlchemy URL; migrations are applied (``upgrade heads``) unless ``migrate`` is False.
    max_bytes
        Size cap; adding beyond it evicts unreferenced products (LRU) or fails.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        database_url: str,
        *,
        max_bytes: int | None = None,
        migrate: bool = True,
    ) -> None:
        self.root = Path(root).expanduser().resolve()
        self.products_dir = self.root / "products"
        self.quarantine_dir = self.root / "quarantine"
        self.staging_dir = self.root / "staging"
        for d in (self.root, self.quarantine_dir, self.staging_dir):
            d.mkdir(parents=True, exist_ok=True)
        if not self.products_dir.exists():
            self.products_dir.mkdir()
            self.products_dir.chmod(DIR_MODE)
        self.max_bytes = max_bytes
        self.database_url = database_url
        if migrate:
            from rus.db.migrate import upgrade

            upgrade(database_url)
        self.engine = make_engine(database_url)
        self._sessions = make_sessionmaker(self.engine)
        self._lock = threading.RLock()

    # -- paths and permissions -------------------------------------------------------------
    @contextmanager
    def _writable(self, folder: Path) -> Iterator[None]:
        folder.chmod(0o755)
        try:
            yield
        finally:
            folder.chmod(DIR_MODE)

    def _ensure_dir(self, rel_parts: Sequence[str]) -> Path:
        current = self.products_dir
        for part in rel_parts:
            check_name(part, "store folder")
            nxt = current / part
            if not nxt.exists():
                with self._writable(current):
                    nxt.mkdir(exist_ok=True)
                nxt.chmod(DIR_MODE)
            current = nxt
        return current

    def path_of(self, row: StoredProduct) -> Path:
        """Absolute path of a stored product file."""
        path = (self.root / row.rel_path).resolve()
        if self.root not in path.parents:
            raise StoreError(f"{row.rel_path}: path outside the store refused")
        return path

    # -- lookups ----------------------------------------------------------------------------
    def get(self, product_id: str) -> StoredProduct | None:
        """The product with this ``Id`` (or ``Name``), or None."""
        with session_scope(self._sessions) as s:
            row = s.get(StoredProduct, product_id)
            if row is None:
                row = s.scalars(
                    select(StoredProduct).where(StoredProduct.name == product_id)
                ).first()
            return row

    def require(self, product_id: str) -> StoredProduct:
        """Like :meth:`get` but raises :class:`StoreError` when absent."""
        row = self.get(product_id)
        if row is None:
            raise StoreError(f"{self.root}: no product {product_id!r} in the store")
        return row

    def open_path(self, product_id: str) -> Path:
        """Path of a healthy product for reading; marks it as recently used (LRU)."""
        row = self.require(product_id)
        if row.status != "ok":
            raise CorruptProductError(f"{row.name}: quarantined ({row.status}); fetch it again")
        with session_scope(self._sessions) as s:
            db_row = s.get(StoredProduct, row.id)
            if db_row is not None:
                db_row.last_access = utcnow()
        return self.path_of(row)

    def total_bytes(self) -> int:
        """Bytes held by healthy products."""
        with session_scope(self._sessions) as s:
            value = s.scalar(
                select(func.coalesce(func.sum(StoredProduct.size), 0)).where(
                    StoredProduct.status == "ok"
                )
            )
            return int(value or 0)

    def record(self, row: StoredProduct) -> ProductRecord:
        """The OData view of a stored product (checksums MD5 and BLAKE3 included)."""
        checks = {k: v for k, v in (("MD5", row.md5), ("BLAKE3", row.blake3)) if v}
        return ProductRecord(
            id=row.id,
            name=row.name,
            collection=row.collection,
            content_length=row.size,
            online=row.status == "ok",
            checksums=checks,
            start=row.start,
            end=row.end,
            footprint=json.loads(row.footprint) if row.footprint else None,
            attributes=json.loads(row.attributes or "{}"),
            publication_date=row.added_at,
        )

    # -- queries -----------------------------------------------------------------------------
    def _filtered(self, stmt: Any, q: SearchQuery) -> Any:
        P = StoredProduct
        stmt = stmt.where(P.status == "ok")
        if q.collection and q.collection != "*":
            stmt = stmt.where(P.collection == q.collection)
        if q.product_type:
            stmt = stmt.where(P.product_type == q.product_type)
        if q.start is not None:
            stmt = stmt.where(P.start >= q.start)
        if q.end is not None:
            stmt = stmt.where(P.start < q.end)
        if q.cloud_max is not None:
            stmt = stmt.where(P.cloud_cover <= q.cloud_max)
        if q.orbit_direction:
            stmt = stmt.where(P.orbit_direction == q.orbit_direction)
        if q.relative_orbit is not None:
            stmt = stmt.where(P.relative_orbit == q.relative_orbit)
        if q.tile:
            stmt = stmt.where(P.tile == q.tile)
        if q.name:
            stmt = stmt.where(P.name == q.name)
        if q.name_contains:
            stmt = stmt.where(P.name.contains(q.name_contains, autoescape=True))
        if q.aoi is not None:
            minx, miny, maxx, maxy = q.aoi.bounds
            stmt = stmt.where(P.minx <= maxx, P.maxx >= minx, P.miny <= maxy, P.maxy >= miny)
        return stmt

    def _ordered(self, stmt: Any, q: SearchQuery) -> Any:
        column = {
            "ContentDate/Start": StoredProduct.start,
            "ContentDate/End": StoredProduct.end,
        }.get(q.order_by, StoredProduct.added_at)
        if q.descending:
            return stmt.order_by(column.desc(), StoredProduct.id.desc())
        return stmt.order_by(column.asc(), StoredProduct.id.asc())

    def query(self, q: SearchQuery, *, offset: int = 0, limit: int | None = None) -> QueryResult:
        """Products matching ``q`` (AOI: bbox range scan in SQL, then an exact shapely test)."""
        limit = q.limit if limit is None else limit
        with session_scope(self._sessions) as s:
            if q.aoi is None:
                total = int(
                    s.scalar(self._filtered(select(func.count()).select_from(StoredProduct), q))
                    or 0
                )
                stmt = self._ordered(self._filtered(select(StoredProduct), q), q).offset(offset)
                if limit is not None:
                    stmt = stmt.limit(limit)
                return QueryResult(list(s.scalars(stmt)), total)
            cand = s.execute(
                self._ordered(
                    self._filtered(select(StoredProduct.id, StoredProduct.footprint), q), q
                )
            ).all()
            ids = _exact_intersects(q.aoi, cand)
            page = ids[offset : None if limit is None else offset + limit]
            rows = (
                {
                    r.id: r
                    for r in s.scalars(select(StoredProduct).where(StoredProduct.id.in_(page)))
                }
                if page
                else {}
            )
            return QueryResult([rows[i] for i in page if i in rows], len(ids))

    def list_products(self, *, limit: int | None = None) -> list[StoredProduct]:
        """Every product (healthy or quarantined), newest first."""
        with session_scope(self._sessions) as s:
            stmt = select(StoredProduct).order_by(StoredProduct.added_at.desc())
            if limit is not None:
                stmt = stmt.limit(limit)
            return list(s.scalars(stmt))

    # -- writes ------------------------------------------------------------------------------
    def add(
        self,
        path: str | os.PathLike[str],
        record: ProductRecord,
        *,
        source: str = "",
        simulated: bool = False,
        move: bool = False,
        known: dict[str, str] | None = None,
    ) -> StoredProduct:
        """Put a product file into the store and index it; returns the existing row if the
        product is already stored (dedupe by ``Id`` and ``Name``).

        Parameters
        ----------
        path
            The file to add (copied, or moved when ``move``).
        record
            Its catalogue record; catalogue checksums are verified.
        known
            Digests already computed (e.g. by the downloader) to skip a re-read.

        Raises
        ------
        CorruptProductError
            The file does not match the record's checksum.
        StoreError
            The size cap cannot be met without evicting referenced products.
        DiskFullError
            No space left; nothing is indexed.
        """
        src = Path(path)
        check_name(record.name)
        check_name(record.id, "product id")
        with self._lock:
            existing = self.get(record.id) or self.get(record.name)
            if existing is not None and existing.status == "ok":
                return existing
            size = src.stat().st_size
            sums = dict(known or {})
            if "MD5" not in sums or "BLAKE3" not in sums:
                sums = digests(src)
            for algo, value in record.checksums.items():
                if algo in sums and value and sums[algo] != value.lower():
                    raise CorruptProductError(
                        f"{src}: {algo} {sums[algo]} differs from the catalogue's {value}; "
                        "not stored"
                    )
            if existing is not None:
                self._delete(existing)
            self._make_room(size)
            rel = self._place(src, record, move)
            row = self._index(record, rel, size, sums, source, simulated)
            return row

    def _place(self, src: Path, record: ProductRecord, move: bool) -> str:
        day = record.start
        parts = [record.collection or "USER"]
        parts += [f"{day:%Y}", f"{day:%m}", f"{day:%d}"] if day else ["undated"]
        folder = self._ensure_dir(parts)
        target = folder / record.file_name
        tmp = folder / f".{record.file_name}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            with self._writable(folder):
                if move:
                    try:
                        os.replace(src, target)
                    except OSError as exc:
                        if exc.errno != errno.EXDEV:
                            raise
                        shutil.copyfile(src, tmp)
                        os.replace(tmp, target)
                        src.unlink()
                else:
                    shutil.copyfile(src, tmp)
                    os.replace(tmp, target)
                target.chmod(FILE_MODE)
        except OSError as exc:
            with self._writable(folder):
                tmp.unlink(missing_ok=True)
            _raise_disk_full(exc, target)
            raise StoreError(f"{target}: cannot write into the store ({exc})") from exc
        return target.relative_to(self.root).as_posix()

    def _index(
        self,
        record: ProductRecord,
        rel: str,
        size: int,
        sums: dict[str, str],
        source: str,
        simulated: bool,
    ) -> StoredProduct:
        bounds: tuple[float | None, ...] = (None, None, None, None)
        if record.footprint:
            from shapely.geometry import shape

            bounds = tuple(shape(record.footprint).bounds)
        attrs = record.attributes
        href = f"odata/v1/Products({record.id})/$value"
        stored = ProductRecord(**{**record.__dict__, "checksums": {**sums}, "content_length": size})
        row = StoredProduct(
            id=record.id,
            name=record.name,
            file_name=record.file_name,
            rel_path=rel,
            collection=record.collection or "USER",
            product_type=record.product_type,
            start=record.start,
            end=record.end,
            minx=bounds[0],
            miny=bounds[1],
            maxx=bounds[2],
            maxy=bounds[3],
            footprint=json.dumps(record.footprint) if record.footprint else None,
            cloud_cover=_float(attrs.get("cloudCover")),
            orbit_direction=_str(attrs.get("orbitDirection")),
            relative_orbit=_int(attrs.get("relativeOrbitNumber")),
            tile=_str(attrs.get("tileId")),
            attributes=json.dumps(attrs, default=str),
            stac_item=json.dumps(stac_item(stored, href=href, simulated=simulated, size=size)),
            size=size,
            md5=sums.get("MD5"),
            blake3=sums.get("BLAKE3"),
            source=source[:255],
            simulated=simulated,
            status="ok",
            added_at=utcnow(),
            last_access=utcnow(),
            verified_at=utcnow(),
        )
        try:
            with session_scope(self._sessions) as s:
                s.add(row)
        except IntegrityError as exc:
            self._remove_file(self.root / rel)
            raise StoreError(
                f"{record.name}: already indexed under another id ({exc.orig})"
            ) from exc
        return row

    def _remove_file(self, path: Path) -> None:
        if path.exists():
            with self._writable(path.parent):
                path.unlink()

    def _delete(self, row: StoredProduct) -> None:
        self._remove_file(self.path_of(row))
        with session_scope(self._sessions) as s:
            db_row = s.get(StoredProduct, row.id)
            if db_row is not None:
                s.delete(db_row)

    def remove(self, product_id: str, *, force: bool = False) -> None:
        """Delete a product (refused while referenced unless ``force``)."""
        with self._lock:
            row = self.require(product_id)
            holders = self.references(row.id)
            if holders and not force:
                raise StoreError(
                    f"{row.name} is referenced by {len(holders)} holder(s) "
                    f"({', '.join(f'{k}:{h}' for k, h in holders[:5])})"
                )
            self._delete(row)

    def quarantine(self, row: StoredProduct, reason: str) -> Path | None:
        """Move a product's file to ``quarantine/`` and mark it; returns the new path."""
        with self._lock:
            path = self.path_of(row)
            dest = None
            if path.exists():
                dest = self.quarantine_dir / f"{row.file_name}.{time.strftime('%Y%m%dT%H%M%S')}"
                with self._writable(path.parent):
                    shutil.move(str(path), dest)
                dest.chmod(0o644)
            with session_scope(self._sessions) as s:
                db_row = s.get(StoredProduct, row.id)
                if db_row is not None:
                    db_row.status = "quarantined"
                    db_row.source = f"{db_row.source} | {reason}"[:255]
            return dest

    # -- references and eviction ------------------------------------------------------------
    def acquire(self, product_id: str, kind: HolderKind, holder: str) -> int:
        """Record that ``holder`` uses a product; returns its number of holders."""
        if kind not in ("user", "workspace", "job"):
            raise StoreError(f"unknown holder kind {kind!r} (user, workspace or job)")
        row = self.require(product_id)
        with session_scope(self._sessions) as s:
            exists = s.scalars(
                select(StoreReference).where(
                    StoreReference.product_id == row.id,
                    StoreReference.holder_kind == kind,
                    StoreReference.holder_id == holder,
                )
            ).first()
            if exists is None:
                s.add(StoreReference(product_id=row.id, holder_kind=kind, holder_id=holder))
            target = s.get(StoredProduct, row.id)
            if target is not None:
                target.last_access = utcnow()
        return len(self.references(row.id))

    def release(self, product_id: str, kind: HolderKind, holder: str) -> int:
        """Drop one holder's reference; returns the remaining number of holders."""
        row = self.require(product_id)
        with session_scope(self._sessions) as s:
            for ref in s.scalars(
                select(StoreReference).where(
                    StoreReference.product_id == row.id,
                    StoreReference.holder_kind == kind,
                    StoreReference.holder_id == holder,
                )
            ):
                s.delete(ref)
        return len(self.references(row.id))

    def references(self, product_id: str) -> list[tuple[str, str]]:
        """``(kind, holder)`` pairs referencing a product."""
        with session_scope(self._sessions) as s:
            return [
                (r.holder_kind, r.holder_id)
                for r in s.scalars(
                    select(StoreReference).where(StoreReference.product_id == product_id)
                )
            ]

    def _make_room(self, incoming: int) -> None:
        if self.max_bytes is None:
            return
        if incoming > self.max_bytes:
            raise StoreError(
                f"a product of {incoming} bytes exceeds the store cap ({self.max_bytes} bytes)"
            )
        self.evict(target_bytes=self.max_bytes - incoming)

    def evict(self, target_bytes: int | None = None) -> list[StoredProduct]:
        """Remove unreferenced products, least recently used first, until the store holds at
        most ``target_bytes`` (default: the cap). Raises :class:`StoreError` if referenced
        products alone exceed it."""
        target = self.max_bytes if target_bytes is None else target_bytes
        if target is None:
            return []
        evicted: list[StoredProduct] = []
        with self._lock:
            total = self.total_bytes()
            if total <= target:
                return evicted
            with session_scope(self._sessions) as s:
                referenced = select(StoreReference.product_id)
                candidates = list(
                    s.scalars(
                        select(StoredProduct)
                        .where(StoredProduct.status == "ok", StoredProduct.id.not_in(referenced))
                        .order_by(StoredProduct.last_access.asc())
                    )
                )
            for row in candidates:
                if total <= target:
                    break
                self._delete(row)
                total -= row.size
                evicted.append(row)
            if total > target:
                raise StoreError(
                    f"{self.root}: {total} bytes are referenced, above the {target}-byte target; "
                    "release products or raise RUS_STORE_MAX_BYTES"
                )
        return evicted


def _exact_intersects(aoi: Any, cand: Sequence[Any]) -> list[str]:
    import numpy as np
    import shapely

    if not cand:
        return []
    geoms = shapely.from_geojson(np.array([c[1] for c in cand], dtype=object))
    shapely.prepare(aoi)
    hits = shapely.intersects(aoi, geoms)
    return [c[0] for c, hit in zip(cand, hits, strict=True) if hit]


def _float(v: Any) -> float | None:
    try:
        return None if v is None else float(v)
    except (TypeError, ValueError):
        return None


def _int(v: Any) -> int | None:
    try:
        return None if v is None else int(v)
    except (TypeError, ValueError):
        return None


def _str(v: Any) -> str | None:
    return None if v is None else str(v)


def open_store(settings: Any = None) -> ProductStore:
    """The store of ``settings`` (default: read now): ``RUS_HOME/store`` + the rus database."""
    from rus.settings import get_settings

    cfg = settings or get_settings()
    return ProductStore(
        cfg.resolved_home / "store", cfg.sqlalchemy_url, max_bytes=cfg.store_max_bytes
    )
