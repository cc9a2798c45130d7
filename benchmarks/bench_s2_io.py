"""Sentinel-2 I/O benchmark: decode B8A, B12 and SCL (20 m, pre and post date) of a simulated
full tile from JPEG2000 and from DEFLATE COGs, with plain rasterio and with the rus readers.

Cases (repeated round-robin, best and median reported; files are read once beforehand so that the
page cache holds them and only decoding is timed):

- ``jp2-rasterio-1thread``: one band after the other, whole-band ``read`` (one core).
- ``jp2-rasterio-2threads``: whole-band ``read`` of two files at a time (both cores).
- ``jp2-rasterio-windows``: 1024 x 1024 windows (= JP2 tiles) on a 2-thread pool.
- ``jp2-rus``: ``open_s2(...).to_dataset(bands, 20, reflectance=False).compute()`` (dask,
  threaded scheduler, 2 workers).
- ``jp2-rus-reflectance``: the same with reflectance scaling (float32, NaN masking).
- ``cog-rasterio``: whole-band reads of the COG copies, two at a time.
- ``cog-rus``: ``open_stac_item(...).to_dataset(...).compute()`` on the COG copies.
- ``b8a-*``: the pre-date B8A alone: whole-band read with ``GDAL_NUM_THREADS`` 1 and 2,
  1024 x 1024 windows on 2 threads, and ``open_s2(...).band("B8A").compute()``.

Usage::

    python benchmarks/bench_s2_io.py [--data benchmarks/out/s2fire-full] [--repeat 3]
        [--shape 10980x10980] [--json benchmarks/out/bench_s2_io.json]

The data folder is shared with ``bench_burn.py`` (pair + ``cog-pre``/``cog-post``); it is
generated when missing (a full tile takes several minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
BANDS = ("B8A", "B12", "SCL")


def _safes(data: Path) -> list[Path]:
    pre = sorted(data.glob("S2*_MSIL2A_20170614T*.SAFE"))
    post = sorted(data.glob("S2*_MSIL2A_20170704T*.SAFE"))
    return [pre[0], post[0]] if pre and post else []


def prepare(data: Path, shape: tuple[int, int]) -> tuple[list[Path], list[Path]]:
    """The SAFE pair and the two STAC Items of COG copies (generated when missing)."""
    from rus.products.simulate.s2 import simulate_s2_fire, write_cog_copy

    if not _safes(data):
        t0 = time.perf_counter()
        simulate_s2_fire(data, shape=shape, seed=0)
        print(f"simulated {shape} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    safes = _safes(data)
    items = []
    for label, safe in zip(("pre", "post"), safes, strict=True):
        item = data / f"cog-{label}" / "item.json"
        if not item.is_file():
            write_cog_copy(safe, item.parent, BANDS, 20)
        items.append(item)
    return safes, items


def _jp2_files(safes: list[Path]) -> list[str]:
    from rus.products.sentinel2 import open_s2

    return [str(open_s2(s).band(b, 20).attrs["source_file"]) for s in safes for b in BANDS]


def _read_whole(path: str) -> int:
    import rasterio

    with rasterio.open(path) as ds:
        return int(ds.read(1).size)


def _read_windows(paths: list[str]) -> int:
    import rasterio
    from rasterio.windows import Window

    jobs = []
    for p in paths:
        with rasterio.open(p) as ds:
            h, w = ds.height, ds.width
        jobs += [
            (p, r, c, min(1024, h - r), min(1024, w - c))
            for r in range(0, h, 1024)
            for c in range(0, w, 1024)
        ]

    def read(job: tuple[str, int, int, int, int]) -> int:
        p, r, c, hh, ww = job
        with rasterio.open(p) as ds:
            return int(ds.read(1, window=Window(c, r, ww, hh)).size)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return sum(pool.map(read, jobs))


def _compute(products: list[Any], reflectance: bool) -> int:
    import dask

    dsets = [p.to_dataset(list(BANDS), 20, reflectance=reflectance) for p in products]
    with dask.config.set(scheduler="threads", num_workers=2):
        out = dask.compute(*dsets)
    return int(sum(v.size for d in out for v in d.data_vars.values()))


def _with_threads(fn: Callable[[], int], threads: str) -> int:
    import rasterio

    with rasterio.Env(GDAL_NUM_THREADS=threads):
        return fn()


def _compute_band(product: Any, band: str) -> int:
    import dask

    with dask.config.set(scheduler="threads", num_workers=2):
        return int(product.band(band, 20).compute().size)


def run(data: Path, repeat: int, shape: tuple[int, int]) -> dict[str, Any]:
    """Run every case and return the results (JSON-ready)."""
    from rus.products.sentinel2 import open_s2
    from rus.products.stac import open_stac_item

    safes, items = prepare(data, shape)
    jp2 = _jp2_files(safes)
    cogs = [str(i.parent / f"{b}.tif") for i in items for b in BANDS]
    for f in jp2 + cogs:  # page cache: time decoding, not the disk
        Path(f).read_bytes()

    def pool2(paths: list[str]) -> int:
        with ThreadPoolExecutor(max_workers=2) as pool:
            return sum(pool.map(_read_whole, paths))

    cases: dict[str, Callable[[], int]] = {
        "jp2-rasterio-1thread": lambda: sum(_read_whole(p) for p in jp2),
        "jp2-rasterio-2threads": lambda: pool2(jp2),
        "jp2-rasterio-windows": lambda: _read_windows(jp2),
        "jp2-rus": lambda: _compute([open_s2(s) for s in safes], False),
        "jp2-rus-reflectance": lambda: _compute([open_s2(s) for s in safes], True),
        "cog-rasterio": lambda: pool2(cogs),
        "cog-rus": lambda: _compute([open_stac_item(str(i)) for i in items], False),
        # one band (pre-date B8A) alone: the cleanest comparison on a shared machine
        "b8a-rasterio-whole-1thread": lambda: _with_threads(lambda: _read_whole(jp2[0]), "1"),
        "b8a-rasterio-whole-2threads": lambda: _with_threads(lambda: _read_whole(jp2[0]), "2"),
        "b8a-rasterio-windows": lambda: _read_windows(jp2[:1]),
        "b8a-rus": lambda: _compute_band(open_s2(safes[0]), "B8A"),
    }
    load_before = os.getloadavg()
    walls: dict[str, list[float]] = {name: [] for name in cases}
    pixels: dict[str, int] = {}
    for rep in range(repeat):  # interleaved: other load on the machine hits every case alike
        for name, fn in cases.items():
            if name in {"jp2-rasterio-1thread", "b8a-rasterio-whole-1thread"} and rep > 0:
                continue  # slow and only a reference: once
            if name == "jp2-rasterio-1thread":
                os.environ["GDAL_NUM_THREADS"] = "1"
            t0 = time.perf_counter()
            pixels[name] = fn()
            walls[name].append(time.perf_counter() - t0)
            os.environ.pop("GDAL_NUM_THREADS", None)
            print(f"{name:24s} {walls[name][-1]:6.2f} s", file=sys.stderr)
    results = {
        name: {
            "best_s": min(w),
            "median_s": statistics.median(w),
            "runs_s": w,
            "pixels": pixels[name],
        }
        for name, w in walls.items()
    }
    base = results["jp2-rasterio-2threads"]["best_s"]
    with open(jp2[0].split("/GRANULE/")[0] + "/MTD_MSIL2A.xml") as fh:
        simulated = "SIMULATED_PRODUCT" in fh.read()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "data": str(data),
        "simulated": simulated,
        "tile_shape_20m": [int(v) // 2 for v in shape],
        "bands": list(BANDS),
        "repeat": repeat,
        "load_average_before_after": [load_before[0], os.getloadavg()[0]],
        "cases": results,
        "ratio_rus_vs_rasterio_2threads": results["jp2-rus"]["best_s"] / base,
        "ratio_cog_vs_jp2": results["cog-rasterio"]["best_s"] / base,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT / "out" / "s2fire-full")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--shape", default="10980x10980")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    rows, cols = (int(v) for v in args.shape.lower().split("x"))
    res = run(args.data, args.repeat, (rows, cols))
    text = json.dumps(res, indent=2)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
