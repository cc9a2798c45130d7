"""The product store: dedupe, read-only files, AOI/period queries, references, LRU eviction,
verification with quarantine, imports of real-format products and demo publishing."""

from __future__ import annotations

import os
import stat
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rus.hub.errors import CorruptProductError, StoreError, UnsafeNameError
from rus.hub.query import make_query
from rus.hub.records import ProductRecord
from rus.hub.store import ProductStore, digests
from rus.hub.store_ops import import_path, publish_demo, verify

T0 = datetime(2024, 3, 1, 10, tzinfo=UTC)


def _zip(path: Path, name: str, size: int, seed: int = 0) -> Path:
    payload = (bytes([seed % 251]) * 997 + os.urandom(3))[:997] * (size // 997 + 1)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{name}/manifest.safe", "<manifest/>")
        zf.writestr(f"{name}/measurement/x.tiff", payload[:size])
    return path


def _record(i: int, footprint: list[list[float]] | None = None, **kw: object) -> ProductRecord:
    ring = footprint or [[12, 41], [13, 41], [13, 42], [12, 42], [12, 41]]
    return ProductRecord(
        id=f"00000000-0000-0000-0000-{i:012d}",
        name=f"S1A_IW_GRDH_1SDV_TEST_{i:04d}.SAFE",
        collection="SENTINEL-1",
        start=T0 + timedelta(days=i),
        end=T0 + timedelta(days=i),
        footprint={"type": "Polygon", "coordinates": [ring]},
        attributes={"productType": "IW_GRDH_1S", "orbitDirection": "ASCENDING"},
        **kw,
    )  # type: ignore[arg-type]


@pytest.fixture()
def store(tmp_path: Path) -> ProductStore:
    return ProductStore(tmp_path / "store", f"sqlite:///{tmp_path / 'rus.db'}")


def _add(store: ProductStore, tmp_path: Path, i: int, size: int = 20_000, **kw: object) -> object:
    rec = _record(i, **kw)  # type: ignore[arg-type]
    src = _zip(tmp_path / f"in{i}.zip", rec.name, size, seed=i)
    return store.add(src, rec, source="test")


def test_add_is_read_only_and_deduplicated(store: ProductStore, tmp_path: Path) -> None:
    row = _add(store, tmp_path, 1)
    path = store.path_of(row)  # type: ignore[arg-type]
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o555
    assert stat.S_IMODE(store.products_dir.stat().st_mode) == 0o555
    assert path.name == "S1A_IW_GRDH_1SDV_TEST_0001.zip"
    again = _add(store, tmp_path, 1)
    assert again.id == row.id and len(store.list_products()) == 1  # type: ignore[attr-defined]
    sums = digests(path)
    assert row.md5 == sums["MD5"] and row.blake3 == sums["BLAKE3"]  # type: ignore[attr-defined]
    assert store.record(row).checksums == sums  # type: ignore[arg-type]


def test_catalogue_checksum_mismatch_is_refused(store: ProductStore, tmp_path: Path) -> None:
    rec = _record(2, checksums={"MD5": "0" * 32})
    src = _zip(tmp_path / "a.zip", rec.name, 1000)
    with pytest.raises(CorruptProductError, match="MD5"):
        store.add(src, rec)
    assert store.list_products() == []
    assert not any(p.is_file() for p in store.products_dir.rglob("*"))


def test_unsafe_names_refused(store: ProductStore, tmp_path: Path) -> None:
    rec = _record(3)
    rec.name = "../../escape.SAFE"
    with pytest.raises(UnsafeNameError):
        store.add(_zip(tmp_path / "b.zip", "x", 10), rec)


def test_query_aoi_is_exact_and_period_half_open(store: ProductStore, tmp_path: Path) -> None:
    _add(store, tmp_path, 0)  # square over Rome
    # a thin diagonal triangle whose bbox covers the AOI but whose shape does not
    _add(store, tmp_path, 1, footprint=[[10, 40], [16, 46], [16, 45.8], [10, 40]])
    _add(store, tmp_path, 2, footprint=[[-60, -20], [-57, -20], [-57, -18], [-60, -20]])
    aoi = "12.4,41.8,12.6,41.9"
    res = store.query(make_query("SENTINEL-1", aoi=aoi))
    assert [r.name for r in res.rows] == ["S1A_IW_GRDH_1SDV_TEST_0000.SAFE"] and res.total == 1
    assert store.query(make_query("SENTINEL-1", aoi="corumba")).total == 1
    period = make_query("SENTINEL-1", start=T0 + timedelta(days=1), end=T0 + timedelta(days=2))
    assert [r.name for r in store.query(period).rows] == ["S1A_IW_GRDH_1SDV_TEST_0001.SAFE"]
    page = store.query(make_query("SENTINEL-1", descending=True), offset=1, limit=1)
    assert page.total == 3 and page.rows[0].name.endswith("0001.SAFE")
    assert store.query(make_query("SENTINEL-2")).total == 0
    assert store.query(make_query("SENTINEL-1", orbit_direction="DESCENDING")).total == 0


def test_references_and_lru_eviction(tmp_path: Path) -> None:
    store = ProductStore(tmp_path / "s", f"sqlite:///{tmp_path / 'db.sqlite'}", max_bytes=50_000)
    a, b = _add(store, tmp_path, 1), _add(store, tmp_path, 2)
    assert store.acquire(a.id, "workspace", "ws-1") == 1  # type: ignore[attr-defined]
    assert store.acquire(a.id, "job", "job-9") == 2  # type: ignore[attr-defined]
    store.open_path(b.id)  # type: ignore[attr-defined]  # b used recently, but unreferenced
    c = _add(store, tmp_path, 3)  # needs room: b (the only unreferenced) goes
    ids = {r.id for r in store.list_products()}
    assert ids == {a.id, c.id}  # type: ignore[attr-defined]
    assert not store.path_of(b).exists()  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="referenced"):
        store.remove(a.id)  # type: ignore[attr-defined]
    store.acquire(c.id, "user", "ann")  # type: ignore[attr-defined]
    with pytest.raises(StoreError, match="referenced"):
        _add(store, tmp_path, 4)
    assert store.release(a.id, "workspace", "ws-1") == 1  # type: ignore[attr-defined]
    assert store.release(a.id, "job", "job-9") == 0  # type: ignore[attr-defined]
    _add(store, tmp_path, 4)
    assert {r.id for r in store.list_products()} == {c.id, _record(4).id}  # type: ignore[attr-defined]
    with pytest.raises(StoreError, match="holder kind"):
        store.acquire(c.id, "robot", "x")  # type: ignore[arg-type, attr-defined]


def test_verify_quarantines_corrupt_files(store: ProductStore, tmp_path: Path) -> None:
    good, bad = _add(store, tmp_path, 1), _add(store, tmp_path, 2)
    path = store.path_of(bad)  # type: ignore[arg-type]
    path.parent.chmod(0o755)
    path.chmod(0o644)
    with open(path, "r+b") as fh:
        fh.seek(500)
        fh.write(b"\x00\xff")
    reports = {r.name: r for r in verify(store)}
    assert reports[good.name].ok  # type: ignore[attr-defined]
    assert not reports[bad.name].ok and "quarantined" in reports[bad.name].message  # type: ignore[attr-defined]
    assert not path.exists() and any(store.quarantine_dir.iterdir())
    assert store.get(bad.id).status == "quarantined"  # type: ignore[attr-defined, union-attr]
    with pytest.raises(CorruptProductError):
        store.open_path(bad.id)  # type: ignore[attr-defined]
    assert store.query(make_query("SENTINEL-1")).total == 1
    # the product can be stored again (e.g. downloaded anew) after quarantine
    again = _add(store, tmp_path, 2)
    assert again.status == "ok"  # type: ignore[attr-defined]


def test_import_geotiff_and_simulated_s2_demo(store: ProductStore, tmp_path: Path) -> None:
    import numpy as np
    import rasterio
    from affine import Affine

    from rus.products.simulate.s2 import simulate_s2_fire

    tif = tmp_path / "user" / "my_scene.tif"
    tif.parent.mkdir()
    with rasterio.open(
        tif,
        "w",
        driver="GTiff",
        height=8,
        width=8,
        count=1,
        dtype="uint8",
        crs="EPSG:4326",
        transform=Affine(0.01, 0, 12.4, 0, -0.01, 41.9),
    ) as ds:
        ds.write(np.ones((1, 8, 8), "uint8"))
    row = import_path(store, tif)
    assert (row.collection, row.name, row.simulated) == ("USER", "my_scene.tif", False)
    assert store.query(make_query("USER", aoi="rome")).total == 1

    demo = tmp_path / "demo"
    sim = simulate_s2_fire(demo / "s2", shape=(60, 60), seed=3)
    rows = publish_demo(store, demo)
    names = sorted(r.name for r in rows)
    assert names == sorted([sim.pre.name, sim.post.name])
    assert all(r.simulated and r.collection == "SENTINEL-2" and r.tile == "29TNE" for r in rows)
    with zipfile.ZipFile(store.path_of(rows[0])) as zf:
        assert any(n.endswith(".SAFE/manifest.safe") for n in zf.namelist())
    assert len(publish_demo(store, demo)) == 2 and len(store.list_products()) == 3
    item = store.get(sim.pre.name)
    assert item is not None and '"rus:simulated": true' in item.stac_item
    with pytest.raises(StoreError, match="no such demo folder"):
        publish_demo(store, tmp_path / "missing")
