"""Benchmark of the burned-area chain on a full simulated Sentinel-2 tile pair (20 m).

Cases (each in its own subprocess, so that its peak RSS is its own):

- ``decode``: the floor. Decode B8A, B12 and SCL of both dates from the JPEG2000 SAFE with
  rasterio, every band once, in 1024 x 1024 windows on a 2-thread pool; nothing else.
- ``chain-jp2``: ``run_burned_area`` on the two SAFE directories (all outputs written).
- ``chain-cog``: ``run_burned_area`` on STAC Items whose assets are DEFLATE COGs.
- ``numpy``: what a user would write: whole-array ``rasterio.read`` of each band, NumPy
  formulas, ``np.digitize`` classes, three GeoTIFFs written (no masking, no vectors).
- ``gdal_calc``: Debian's ``gdal_calc.py`` (if installed): RBR from the four JP2 bands in one
  call, then the classes from RBR in a second call.

Usage::

    python benchmarks/bench_burn.py                 # generate data if needed, run all cases
    python benchmarks/bench_burn.py --repeat 2 --json benchmarks/out/bench_burn.json

The full tile JPEG2000 pair is generated once into the git-ignored ``benchmarks/out/``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "out"
DATA = OUT / "s2fire-full"
BANDS = ("B8A", "B12", "SCL")


def _safes(data: Path) -> tuple[Path, Path]:
    pre = sorted(data.glob("S2*_20170614T*.SAFE"))
    post = sorted(data.glob("S2*_20170704T*.SAFE"))
    if not pre or not post:
        raise SystemExit(f"{data}: no simulated pair; run with --generate")
    return pre[0], post[0]


def _band_paths(safe: Path) -> dict[str, str]:
    from rus.products.sentinel2 import open_s2

    prod = open_s2(safe)
    return {b: str(prod.band(b, 20).attrs["source_file"]) for b in BANDS}


def generate(data: Path, shape: tuple[int, int]) -> None:
    """Write the simulated pair (JP2 SAFE) and COG copies with STAC Items, once."""
    from rus.products.simulate.s2 import simulate_s2_fire, write_cog_copy

    if not any(data.glob("S2*.SAFE")):
        t0 = time.perf_counter()
        simulate_s2_fire(data, shape=shape, seed=0)
        print(f"simulated {shape} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    pre, post = _safes(data)
    for label, safe in (("pre", pre), ("post", post)):
        if not (data / f"cog-{label}" / "item.json").is_file():
            write_cog_copy(safe, data / f"cog-{label}", BANDS, 20)


# -- cases (run in a child process) -------------------------------------------------------------


def case_decode(data: Path) -> dict[str, Any]:
    """Decode every needed band once, in parallel 1024 x 1024 windows (the floor)."""
    from concurrent.futures import ThreadPoolExecutor

    import rasterio
    from rasterio.windows import Window

    paths = [p for safe in _safes(data) for p in _band_paths(safe).values()]
    t0 = time.perf_counter()
    arrays = []
    jobs = []
    for path in paths:
        with rasterio.open(path) as ds:
            arr = np.empty((ds.height, ds.width), dtype=ds.dtypes[0])
        arrays.append(arr)
        for r in range(0, arr.shape[0], 1024):
            for c in range(0, arr.shape[1], 1024):
                jobs.append((path, arr, r, c))

    def read(job: tuple[str, np.ndarray, int, int]) -> None:
        path, arr, r, c = job
        h, w = min(1024, arr.shape[0] - r), min(1024, arr.shape[1] - c)
        with rasterio.open(path) as ds:
            arr[r : r + h, c : c + w] = ds.read(1, window=Window(c, r, w, h))

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        list(pool.map(read, jobs))
    return {"wall_s": time.perf_counter() - t0, "pixels": int(sum(a.size for a in arrays))}


def _chain(pre: Any, post: Any, out: Path) -> dict[str, Any]:
    import warnings

    from rus.chains.burned_area import run_burned_area

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = run_burned_area(pre, post, out)
    wall = time.perf_counter() - t0
    return {
        "wall_s": wall,
        "burned_ha": run.stats["burned_ha"],
        "steps_s": run.stats["timings_s"],
        "steps_cpu_s": run.stats["cpu_s"],
        "polygons": run.stats["vectors"]["polygons"],
    }


def case_chain_jp2(data: Path) -> dict[str, Any]:
    pre, post = _safes(data)
    return _chain(pre, post, OUT / "burn-jp2")


def case_chain_cog(data: Path) -> dict[str, Any]:
    return _chain(
        str(data / "cog-pre" / "item.json"), str(data / "cog-post" / "item.json"), OUT / "burn-cog"
    )


def case_numpy(data: Path) -> dict[str, Any]:
    """The straightforward user script: whole arrays, NumPy, three GeoTIFFs."""
    import rasterio

    pre, post = (_band_paths(s) for s in _safes(data))
    t0 = time.perf_counter()

    def refl(path: str) -> np.ndarray:
        with rasterio.open(path) as ds:
            return ds.read(1).astype(np.float32) / 10000.0

    with rasterio.open(pre["B8A"]) as ds:
        profile = ds.profile
    nbr_pre = (refl(pre["B8A"]) - refl(pre["B12"])) / (refl(pre["B8A"]) + refl(pre["B12"]))
    nbr_post = (refl(post["B8A"]) - refl(post["B12"])) / (refl(post["B8A"]) + refl(post["B12"]))
    dnbr = nbr_pre - nbr_post
    rbr = dnbr / (nbr_pre + 1.001)
    sev = (np.digitize(rbr, [-0.25, -0.1, 0.1, 0.27, 0.44, 0.66]) + 1).astype(np.uint8)
    profile.update(driver="GTiff", dtype="float32", count=1, compress="deflate", nodata=None)
    dest = OUT / "burn-numpy"
    dest.mkdir(parents=True, exist_ok=True)
    for name, arr in (("dnbr", dnbr), ("rbr", rbr)):
        with rasterio.open(dest / f"{name}.tif", "w", **profile) as ds:
            ds.write(arr, 1)
    profile.update(dtype="uint8")
    with rasterio.open(dest / "severity.tif", "w", **profile) as ds:
        ds.write(sev, 1)
    return {"wall_s": time.perf_counter() - t0, "burned_ha": float((sev >= 4).sum() * 0.04)}


def case_gdal_calc(data: Path) -> dict[str, Any]:
    """Debian gdal_calc.py: RBR in one call, classes in a second."""
    exe = shutil.which("gdal_calc.py")
    if exe is None:
        return {"skipped": "gdal_calc.py not installed (apt-get install gdal-bin python3-gdal)"}
    pre, post = (_band_paths(s) for s in _safes(data))
    dest = OUT / "burn-gdal_calc"
    dest.mkdir(parents=True, exist_ok=True)
    a, b, c, d = "A.astype(float32)", "B.astype(float32)", "C.astype(float32)", "D.astype(float32)"
    nbr1, nbr2 = f"(({a}-{b})/({a}+{b}))", f"(({c}-{d})/({c}+{d}))"
    rbr_expr = f"({nbr1}-{nbr2})/({nbr1}+1.001)"
    sev_expr = "1+(A>=-0.25)+(A>=-0.1)+(A>=0.1)+(A>=0.27)+(A>=0.44)+(A>=0.66)"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GDAL_DATA", "PROJ_"))}
    t0 = time.perf_counter()
    subprocess.run(
        [exe, "-A", pre["B8A"], "-B", pre["B12"], "-C", post["B8A"], "-D", post["B12"],
         "--outfile", str(dest / "rbr.tif"), "--type", "Float32", "--calc", rbr_expr,
         "--overwrite", "--quiet", "--co", "COMPRESS=DEFLATE"],
        check=True, env=env,
    )  # fmt: skip
    subprocess.run(
        [exe, "-A", str(dest / "rbr.tif"), "--outfile", str(dest / "severity.tif"),
         "--type", "Byte", "--calc", sev_expr, "--overwrite", "--quiet",
         "--co", "COMPRESS=DEFLATE"],
        check=True, env=env,
    )  # fmt: skip
    return {"wall_s": time.perf_counter() - t0}


CASES = {
    "decode": case_decode,
    "chain-jp2": case_chain_jp2,
    "chain-cog": case_chain_cog,
    "numpy": case_numpy,
    "gdal_calc": case_gdal_calc,
}


def _child(case: str, data: Path) -> dict[str, Any]:
    """Run one case in a fresh interpreter; add its peak RSS (children of gdal_calc included)."""
    cmd = [sys.executable, __file__, "--case", case, "--data", str(data)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"case {case} failed (status {status})")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["peak_rss_mb"] = round(usage.ru_maxrss / 1024.0, 1)
    result["cpu_s"] = round(usage.ru_utime + usage.ru_stime, 2)  # stable under machine load
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--shape", default="10980x10980", help="10 m ROWSxCOLS when generating")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, default=OUT / "bench_burn.json")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(CASES[args.case](args.data)))
        return
    rows, cols = (int(v) for v in args.shape.split("x"))
    generate(args.data, (rows, cols))
    results: dict[str, list[dict[str, Any]]] = {c: [] for c in args.cases.split(",")}
    for _ in range(args.repeat):
        for case in results:  # interleaved: machine load affects every case alike
            results[case].append(_child(case, args.data))
            print(case, results[case][-1], file=sys.stderr)
    best = {c: min(r, key=lambda v: v.get("wall_s", 1e9)) for c, r in results.items()}
    summary = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "data": str(args.data),
        "best": best,
        "all": results,
    }
    floor = best.get("decode", {}).get("wall_s")
    if floor:
        for r in best.values():
            if "wall_s" in r:
                r["x_decode_floor"] = round(r["wall_s"] / floor, 3)
                r["cpu_x_decode_floor"] = round(r["cpu_s"] / best["decode"]["cpu_s"], 3)
    if "decode" in results:
        # ratios of runs made back to back (same machine load), robust to a busy machine
        for c, runs in results.items():
            pairs = [
                r["wall_s"] / d["wall_s"]
                for r, d in zip(runs, results["decode"], strict=True)
                if "wall_s" in r
            ]
            if pairs and c != "decode":
                best[c]["paired_x_decode"] = [round(v, 3) for v in pairs]
                best[c]["median_paired_x_decode"] = round(float(np.median(pairs)), 3)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(summary, indent=2) + "\n")
    print(
        "| case | wall (s) | x decode floor | paired x floor | CPU (s) | CPU x floor | RSS (MB) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for c, r in best.items():
        if "wall_s" not in r:
            print(f"| {c} | {r.get('skipped', 'n/a')} | | | | | |")
            continue
        nan = float("nan")
        print(
            f"| {c} | {r['wall_s']:.2f} | {r.get('x_decode_floor', nan):.2f} | "
            f"{r.get('median_paired_x_decode', nan):.2f} | {r['cpu_s']:.1f} | "
            f"{r.get('cpu_x_decode_floor', nan):.2f} | {r['peak_rss_mb']:.0f} |"
        )


if __name__ == "__main__":
    main()
