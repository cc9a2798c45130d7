"""Full-scene ship detection benchmark: rus chain vs a scipy baseline, read floor, distributed.

Usage::

    .venv/bin/python benchmarks/bench_ships.py [--shape 16705x26102] [--ships 300]
        [--skip-baseline] [--skip-distributed]

Generates a SIMULATED Sentinel-1 IW GRDH scene (one polarisation, VV) once into the git-ignored
``benchmarks/out/ships/`` and then measures, each in a fresh subprocess with the resident memory
of its whole process tree sampled every 50 ms (psutil):

1. ``read``: reading the measurement TIFF (every pixel, through the lazy reader), the floor;
2. ``rus``: ``rus ships PRODUCT --out DIR`` end to end (read, calibrate, land mask, CFAR,
   cluster, attributes, exact land test of the detections, write
   GPKG/GeoJSON/KML/CSV/PNG/item.json);
3. ``baseline``: the same reader and land mask, then a straightforward CFAR with
   ``scipy.ndimage.uniform_filter`` (float64 box means of x, x^2 and the valid count) on row
   bands as large as memory allows, ``scipy.ndimage.label`` on the whole mask, and the same
   size test;
4. ``distributed``: the chain on a ``dask.distributed`` LocalCluster (2 workers x 1 thread),
   compared with run 2 ship by ship.

Quality against the simulator's truth (xView3 scoring, ships >= 30 m) is printed too. Results go
to ``benchmarks/out/ships/bench.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out" / "ships"
PY = sys.executable


def ensure_scene(shape: tuple[int, int], ships: int) -> tuple[Path, Path]:
    """The simulated product and its truth (generated once)."""
    tag = f"{shape[0]}x{shape[1]}-{ships}"
    folder = OUT / tag
    found = sorted(folder.glob("*.SAFE"))
    if found:
        return found[0], next(folder.glob("*.truth.geojson"))
    from rus.products.simulate.s1 import simulate_s1_grd

    t0 = time.perf_counter()
    res = simulate_s1_grd(folder, shape=shape, ships=ships, seed=42, pols=("VV",))
    print(f"generated {res.product.name} in {time.perf_counter() - t0:.0f} s", flush=True)
    return Path(res.product), Path(res.truth)


def measure(cmd: list[str], timeout: float = 1800) -> dict[str, Any]:
    """Run ``cmd``; return wall and CPU seconds, peak RSS of the process tree (GB) and stdout.

    CPU seconds (user + system of the process and its children) do not depend on what else
    runs on the machine; divided by the cores they bound the wall time on an idle machine.
    """
    import resource

    import psutil

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        root = psutil.Process(proc.pid)
        while not stop.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
                rss = 0
                for p in procs:
                    with contextlib.suppress(psutil.Error):
                        rss += p.memory_info().rss
                peak = max(peak, rss)
            except psutil.Error:
                break
            time.sleep(0.05)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    out, err = proc.communicate(timeout=timeout)
    wall = time.perf_counter() - t0
    stop.set()
    th.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed ({proc.returncode}):\n{err[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "peak_rss_gb": round(peak / 2**30, 2),
        "stdout": out,
    }


READ_CODE = """
import sys, time
from rus.products.sentinel1 import open_s1_grd
t = time.perf_counter()
s1 = open_s1_grd(sys.argv[1], chunks=(2048, 4096))
pol = s1.metadata.polarisations[0]
total = s1.measurement(pol).data.astype('uint64').sum().compute()
print(time.perf_counter() - t, int(total))
"""

BASELINE_CODE = """
import sys, time, json, numpy as np
from scipy import ndimage
t0 = time.perf_counter()
from rus.chains.ship_detection import ShipDetectionParams, open_scene
from rus.chains.ship_detection.core import land_mask
from rus.toolbox.sar.cfar import windows_from_metres, pfa_to_threshold
p = ShipDetectionParams()
scene = open_scene(sys.argv[1], p)
land = land_mask(scene, p)
w = windows_from_metres(50, 500, 800, 0.5 * sum(scene.spacing))
t = pfa_to_threshold(p.pfa)
rows, cols = scene.shape
band, h = 2048, w.halo
flag = np.zeros((rows, cols), bool)
for r0 in range(0, rows, band):
    a0, a1 = max(r0 - h, 0), min(r0 + band + h, rows)
    x = scene.intensity.data[a0:a1].compute().astype(np.float64)
    if land is not None:
        x[land.block(a0, a1, 0, cols)] = np.nan
    ok = ~np.isnan(x)
    v = np.where(ok, x, 0.0)
    def box(a, n):
        return ndimage.uniform_filter(a, size=n, mode="constant", cval=0.0) * (n * n)
    cnt = ok.astype(np.float64)
    nt, st = box(cnt, w.target), box(v, w.target)
    nr = box(cnt, w.background) - box(cnt, w.guard)
    sr = box(v, w.background) - box(v, w.guard)
    qr = box(v * v, w.background) - box(v * v, w.guard)
    with np.errstate(invalid="ignore", divide="ignore"):
        mt = st / nt
        mu = sr / nr
        sd = np.sqrt(np.clip(qr / nr - mu * mu, 0, None))
        f = ok & (nr > 0.5) & (mt >= p.floor) & (mt > mu + t * sd)
    flag[r0:min(r0 + band, rows)] = f[r0 - a0 : r0 - a0 + min(band, rows - r0)]
lab, n = ndimage.label(flag, structure=np.ones((3, 3)))
objs = ndimage.find_objects(lab)
kept = 0
for sl in objs:
    length = (sl[0].stop - sl[0].start) * scene.spacing[0]
    width = (sl[1].stop - sl[1].start) * scene.spacing[1]
    kept += p.min_size_m <= (length**2 + width**2) ** 0.5 <= p.max_size_m
print(json.dumps({"seconds": time.perf_counter() - t0, "flagged": int(flag.sum()), "clusters": n,
                  "ships": int(kept)}))
"""

DISTRIBUTED_CODE = """
import sys, json, time
from distributed import LocalCluster
from rus.chains.ship_detection import run_ship_detection
with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                  dashboard_address=None, memory_limit="4GiB") as cluster:
    t = time.perf_counter()
    run = run_ship_detection(sys.argv[1], sys.argv[2], scheduler=cluster.scheduler_address)
    print(json.dumps({"seconds": time.perf_counter() - t, "ships": len(run.ships)}))
"""


def quality(truth: Path, pred: Path) -> dict[str, Any]:
    """xView3 scores, detections on land and near-duplicates."""
    import geopandas as gpd
    import numpy as np

    from rus.products.landmask import is_land
    from rus.toolbox.scoring import score_ships

    t = gpd.read_file(truth)
    p = gpd.read_file(pred)
    s = score_ships(t, p, min_length_m=30).as_dict()
    snap = score_ships(t, p, min_length_m=30, pred_length_field="length_snap_m", shore_km=None)
    xy = p[["row", "col"]].to_numpy()
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    return {
        **s,
        "snap_length_mean_rel_error": snap.length_mean_rel_error,
        "detections_on_land": int(is_land(p["lon"], p["lat"]).sum()),
        "closest_pair_px": float(d.min()) if len(p) > 1 else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", default="16705x26102", help="LINESxPIXELS of the scene")
    ap.add_argument("--ships", type=int, default=300)
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--skip-distributed", action="store_true")
    args = ap.parse_args()
    shape = tuple(int(v) for v in args.shape.lower().split("x"))
    product, truth = ensure_scene((shape[0], shape[1]), args.ships)
    run_dir = product.parent / "run"
    res: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB",
        "load_average_at_start": os.getloadavg(),
        "product": product.name,
        "shape": list(shape),
    }
    r = measure([PY, "-c", READ_CODE, str(product)])
    res["read_tiff"] = {k: r[k] for k in ("wall_s", "cpu_s", "peak_rss_gb")}
    print("read", res["read_tiff"], flush=True)
    rus = str(Path(PY).with_name("rus"))
    r = measure([rus, "ships", str(product), "--out", str(run_dir), "--json"])
    summary = json.loads(r["stdout"])
    res["rus"] = {
        "wall_s": r["wall_s"],
        "cpu_s": r["cpu_s"],
        "peak_rss_gb": r["peak_rss_gb"],
        "ships": summary["ships"],
        "flagged_pixels": summary["flagged_pixels"],
        "clusters": summary["clusters"],
        "removed_on_land": summary["removed_on_land"],
        "timings_s": summary["timings_s"],
    }
    print("rus", res["rus"], flush=True)
    res["quality"] = quality(truth, run_dir / "ships.geojson")
    print("quality", res["quality"], flush=True)
    if not args.skip_baseline:
        r = measure([PY, "-c", BASELINE_CODE, str(product)])
        res["baseline"] = {k: r[k] for k in ("wall_s", "cpu_s", "peak_rss_gb")}
        res["baseline"].update(json.loads(r["stdout"]))
        res["baseline_over_rus"] = round(r["wall_s"] / res["rus"]["wall_s"], 2)
        res["baseline_over_rus_cpu"] = round(r["cpu_s"] / res["rus"]["cpu_s"], 2)
        print("baseline", res["baseline"], flush=True)
    if not args.skip_distributed:
        ddir = product.parent / "run-distributed"
        r = measure([PY, "-c", DISTRIBUTED_CODE, str(product), str(ddir)])
        a = (run_dir / "ships.csv").read_text()
        b = (ddir / "ships.csv").read_text()
        res["distributed"] = {
            "wall_s": r["wall_s"],
            "cpu_s": r["cpu_s"],
            "peak_rss_gb": r["peak_rss_gb"],
            "identical_to_local": a == b,
        }
        print("distributed", res["distributed"], flush=True)
    (product.parent / "bench.json").write_text(json.dumps(res, indent=2, default=str))
    print(json.dumps(res, indent=2, default=str))


if __name__ == "__main__":
    main()
