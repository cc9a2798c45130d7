"""Search latency of the local hub with 100,000 indexed products (AOI + period queries).

Builds a store index of N synthetic Sentinel-1-like products (footprints ~2.3 x 1.9 degrees
spread over Europe/Africa/the Americas, sensing starts over six years) directly in the database
(search never reads product files), starts ``rus hub serve`` in a child process and times
OData searches (first page, ``$top=100``, ``$expand=Attributes``) and STAC searches for random
1-degree AOIs over one month.

Run: ``.venv/bin/python benchmarks/bench_hub_search.py [--products 100000] [--queries 200]``
Results: printed and written to ``benchmarks/out/bench_hub_search.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy import insert

from rus.db.base import make_engine
from rus.db.models.store import StoredProduct
from rus.hub._serve import serve_in_process
from rus.hub.odata import ODataClient
from rus.hub.query import make_query
from rus.hub.records import ProductRecord
from rus.hub.stac import stac_item
from rus.hub.stac_client import StacClient
from rus.hub.store import ProductStore

OUT = Path(__file__).resolve().parent / "out"
T0 = datetime(2019, 1, 1, tzinfo=UTC)
SPAN_S = 6 * 365 * 86400


def _rows(n: int, seed: int) -> list[dict[str, object]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        lon, lat = rng.uniform(-80, 40), rng.uniform(-40, 65)
        ring = [
            [lon, lat],
            [lon + 2.3, lat + 0.3],
            [lon + 2.0, lat + 2.2],
            [lon - 0.3, lat + 1.9],
            [lon, lat],
        ]
        start = T0 + timedelta(seconds=rng.uniform(0, SPAN_S))
        direction = "ASCENDING" if i % 2 else "DESCENDING"
        attrs = {
            "productType": "IW_GRDH_1S",
            "orbitDirection": direction,
            "relativeOrbitNumber": i % 175,
        }
        name = f"S1A_IW_GRDH_1SDV_{start:%Y%m%dT%H%M%S}_{i:06d}_BENCH.SAFE"
        pid = f"{i:08x}-0000-4000-8000-{seed:012x}"
        foot = {"type": "Polygon", "coordinates": [ring]}
        rec = ProductRecord(
            id=pid,
            name=name,
            collection="SENTINEL-1",
            start=start,
            end=start + timedelta(seconds=25),
            footprint=foot,
            attributes=attrs,
            content_length=1_700_000_000,
        )
        rows.append(
            {
                "id": pid,
                "name": name,
                "file_name": rec.file_name,
                "rel_path": f"products/SENTINEL-1/{start:%Y/%m/%d}/{rec.file_name}",
                "collection": "SENTINEL-1",
                "product_type": "IW_GRDH_1S",
                "start": start,
                "end": start + timedelta(seconds=25),
                "minx": min(p[0] for p in ring),
                "miny": min(p[1] for p in ring),
                "maxx": max(p[0] for p in ring),
                "maxy": max(p[1] for p in ring),
                "footprint": json.dumps(foot),
                "orbit_direction": direction,
                "relative_orbit": i % 175,
                "attributes": json.dumps(attrs),
                "size": 1_700_000_000,
                "stac_item": json.dumps(stac_item(rec, href=f"odata/v1/Products({pid})/$value")),
                "md5": "0" * 32,
                "blake3": "0" * 64,
                "source": "benchmark (index only)",
                "simulated": True,
                "status": "ok",
                "added_at": start,
                "last_access": start,
            }
        )
    return rows


def build_index(home: Path, n: int) -> float:
    """Create the store and insert ``n`` index rows; returns seconds."""
    t0 = time.perf_counter()
    store = ProductStore(home / "store", f"sqlite:///{home / 'rus.db'}")
    engine = make_engine(store.database_url)
    with engine.begin() as conn:
        for first in range(0, n, 10_000):
            conn.execute(insert(StoredProduct), _rows(min(10_000, n - first), first + 1))
    return time.perf_counter() - t0


def _queries(k: int, seed: int, size: float) -> list[tuple[str, datetime]]:
    rng = random.Random(seed)
    out = []
    for _ in range(k):
        lon, lat = rng.uniform(-75, 35 - size), rng.uniform(-35, 60 - size)
        month = T0 + timedelta(days=rng.randrange(0, 6 * 365 - 92))
        out.append((f"{lon:.3f},{lat:.3f},{lon + size:.3f},{lat + size:.3f}", month))
    return out


def _run(
    cat: ODataClient, stac: StacClient, qs: list[tuple[str, datetime]], days: int
) -> dict[str, object]:
    odata_ms: list[float] = []
    stac_ms: list[float] = []
    hits: list[int] = []
    for aoi, month in qs:
        q = make_query(
            "SENTINEL-1", aoi=aoi, start=month, end=month + timedelta(days=days), limit=100
        )
        t0 = time.perf_counter()
        found = list(cat.search(q))
        odata_ms.append((time.perf_counter() - t0) * 1e3)
        hits.append(len(found))
        t0 = time.perf_counter()
        list(stac.search(q))
        stac_ms.append((time.perf_counter() - t0) * 1e3)
    return {
        "mean_hits_first_page": float(np.mean(hits)),
        "odata": _stats(odata_ms),
        "stac": _stats(stac_ms),
    }


def _stats(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms)
    return {
        "p50_ms": float(np.percentile(a, 50)),
        "p95_ms": float(np.percentile(a, 95)),
        "max_ms": float(a.max()),
        "mean_ms": float(a.mean()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--products", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--keep", action="store_true", help="keep the generated index")
    args = ap.parse_args()
    home = OUT / "hub-search"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    build_s = build_index(home, args.products)
    print(f"indexed {args.products} products in {build_s:.1f} s")
    local = _queries(args.queries, 7, 3.0)
    wide = _queries(max(20, args.queries // 5), 8, 20.0)
    with serve_in_process(str(home)) as (url, _pid):
        client = httpx.Client(timeout=30.0)
        cat = ODataClient(f"{url}/odata/v1", client=client, page_size=100)
        stac = StacClient(f"{url}/stac", client=client, page_size=100)
        _run(cat, stac, local[:5], 30)  # warm-up
        aoi_month = _run(cat, stac, local, 30)
        wide_quarter = _run(cat, stac, wide, 91)
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores",
        "products": args.products,
        "index_build_s": build_s,
        "db_mb": (home / "rus.db").stat().st_size / 1e6,
        "aoi_3deg_30days": {"queries": len(local), **aoi_month},
        "aoi_20deg_91days": {"queries": len(wide), **wide_quarter},
    }
    print(json.dumps(result, indent=2))
    (OUT / "bench_hub_search.json").write_text(json.dumps(result, indent=2))
    if not args.keep:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
