"""Store operations built on :class:`rus.hub.store.ProductStore`: verify, import, demo publishing
and fetching products from a catalogue into the store."""

from __future__ import annotations

import logging
import os
import uuid
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rus.db.base import session_scope, utcnow
from rus.db.models.store import StoredProduct
from rus.errors import RusError
from rus.hub.download import Downloader, DownloadResult
from rus.hub.errors import StoreError
from rus.hub.records import ProductRecord, check_name
from rus.hub.store import ProductStore, digests

log = logging.getLogger("rus.hub.store")
_NAMESPACE = uuid.UUID("6d1f4a4e-3c55-4c1b-9d7e-5b0f0e2a7c11")


@dataclass(frozen=True)
class VerifyReport:
    """Result of re-checking one stored product."""

    product_id: str
    name: str
    ok: bool
    message: str


def verify(store: ProductStore, product_ids: Iterable[str] | None = None) -> list[VerifyReport]:
    """Re-compute MD5 and BLAKE3 of stored files; quarantine those that differ or vanished."""
    rows = (
        [store.require(i) for i in product_ids]
        if product_ids
        else [r for r in store.list_products() if r.status == "ok"]
    )
    reports = []
    for row in rows:
        path = store.path_of(row)
        if not path.exists():
            store.quarantine(row, "file missing")
            reports.append(VerifyReport(row.id, row.name, False, f"{path}: file missing"))
            continue
        sums = digests(path)
        bad = [a for a, ref in (("MD5", row.md5), ("BLAKE3", row.blake3)) if ref and sums[a] != ref]
        if bad or path.stat().st_size != row.size:
            dest = store.quarantine(row, f"checksum mismatch ({', '.join(bad) or 'size'})")
            reports.append(
                VerifyReport(
                    row.id,
                    row.name,
                    False,
                    f"{path}: {', '.join(bad) or 'size'} mismatch; quarantined to {dest}",
                )
            )
            continue
        with session_scope(store._sessions) as s:
            db_row = s.get(StoredProduct, row.id)
            if db_row is not None:
                db_row.verified_at = utcnow()
        reports.append(VerifyReport(row.id, row.name, True, "checksums match"))
    return reports


def _dt(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    dt = (
        value
        if isinstance(value, datetime)
        else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    )
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def record_from_description(path: Path, info: dict[str, Any], kind: str) -> ProductRecord:
    """A catalogue record for a user's product from its ``rus info`` description."""
    collection = {"s1-grd": "SENTINEL-1", "s2": "SENTINEL-2"}.get(kind, "USER")
    base = path.name
    if kind in ("s1-grd", "s2"):
        base = base.removesuffix(".zip").removesuffix(".SAFE") + ".SAFE"
    check_name(base)
    ptype = info.get("product_type")
    if kind == "s1-grd" and info.get("mode") and info.get("product_class"):
        ptype = f"{info['mode']}_{info['product_class']}_1S"
    attrs: dict[str, Any] = {"productType": ptype} if ptype else {}
    for key, attr in (
        ("pass_direction", "orbitDirection"),
        ("orbit_direction", "orbitDirection"),
        ("relative_orbit", "relativeOrbitNumber"),
        ("cloud_cover", "cloudCover"),
        ("tile_id", "tileId"),
        ("tile", "tileId"),
    ):
        value = info.get(key)
        if value not in (None, ""):
            attrs[attr] = value.upper() if attr == "orbitDirection" else value
    if info.get("simulated"):
        attrs["simulated"] = "true"
    return ProductRecord(
        id=str(uuid.uuid5(_NAMESPACE, base)),
        name=base,
        collection=collection,
        start=_dt(info.get("start_time") or info.get("sensing_time") or info.get("datetime")),
        end=_dt(info.get("stop_time") or info.get("end_time")),
        footprint=info.get("footprint"),
        attributes=attrs,
    )


def _zip_dir(folder: Path, dest: Path) -> Path:
    """Zip a SAFE folder as CDSE distributes it (``X.SAFE/...`` inside ``X.zip``)."""
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, f"{folder.name}/{p.relative_to(folder).as_posix()}")
    return dest


def import_path(
    store: ProductStore, path: str | os.PathLike[str], *, source: str = "import"
) -> StoredProduct:
    """Add a user's product (anything ``rus info`` understands) to the store.

    SAFE folders are zipped (stored, not recompressed) so that the hub serves one file.
    Re-importing the same product returns the existing entry.
    """
    from rus.products.info import describe_product, detect_kind

    p = Path(path)
    try:
        kind = detect_kind(p)
        info = describe_product(p)
    except RusError as exc:
        raise StoreError(f"{p}: cannot import ({exc})") from exc
    record = record_from_description(p, info, kind)
    existing = store.get(record.id)
    if existing is not None and existing.status == "ok":
        return existing
    simulated = bool(info.get("simulated"))
    if p.is_dir():
        staged = store.staging_dir / f"{record.id}.zip"
        try:
            _zip_dir(p, staged)
            return store.add(staged, record, source=f"{source}:{p}", simulated=simulated, move=True)
        finally:
            staged.unlink(missing_ok=True)
    return store.add(p, record, source=f"{source}:{p}", simulated=simulated)


def _candidates(folder: Path, kinds: tuple[str, ...]) -> list[Path]:
    from rus.products.errors import ProductError
    from rus.products.info import detect_kind

    found: list[Path] = []
    for p in sorted(folder.rglob("*")):
        if any(parent in found for parent in p.parents):
            continue
        if p.is_dir() and not p.name.upper().endswith(".SAFE"):
            continue
        try:
            kind = detect_kind(p)
        except (ProductError, RusError):
            continue
        if kind in kinds:
            found.append(p)
    return found


def publish_demo(
    store: ProductStore,
    demo_dir: str | os.PathLike[str],
    *,
    kinds: tuple[str, ...] = ("s1-grd", "s2"),
) -> list[StoredProduct]:
    """Import every product found under ``demo_dir`` into the store so that ``rus hub serve``
    publishes them; already stored ones are kept.

    Only Sentinel products (SAFE folders or zips; ``kinds``) are published by default: truth
    rasters and chain outputs beside them are not catalogue products.
    """
    folder = Path(demo_dir)
    if not folder.is_dir():
        raise StoreError(f"{folder}: no such demo folder (run `rus simulate` or `rus demo` first)")
    rows = []
    for p in _candidates(folder, kinds):
        try:
            rows.append(import_path(store, p, source="demo"))
        except StoreError as exc:
            log.warning("skipped %s: %s", p, exc)
    return rows


def fetch_into_store(
    store: ProductStore,
    records: Iterable[ProductRecord],
    url_for: Callable[[ProductRecord], str],
    downloader: Downloader,
    *,
    source: str = "cdse",
) -> list[DownloadResult]:
    """Download products missing from the store (dedupe) and add them; present ones are
    reported as ``present`` with their store path."""
    results: list[DownloadResult] = []
    todo: list[tuple[ProductRecord, str]] = []
    for rec in records:
        row = store.get(rec.id)
        if row is not None and row.status == "ok":
            results.append(
                DownloadResult(
                    rec.id,
                    rec.name,
                    "present",
                    path=store.path_of(row),
                    size=row.size,
                    message="already in the store",
                )
            )
        else:
            todo.append((rec, url_for(rec)))
    staging = store.staging_dir
    by_id = {rec.id: rec for rec, _ in todo}
    for res in downloader.download_many(todo, staging):
        if res.status == "downloaded" and res.path is not None:
            rec = by_id[res.product_id]
            try:
                row = store.add(res.path, rec, source=source, move=True)
            except RusError as exc:
                res.status, res.message = "failed", str(exc)
            else:
                res.path = store.path_of(row)
        results.append(res)
    return results
