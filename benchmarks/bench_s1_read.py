"""Benchmark the Sentinel-1 GRD simulator and reader on a FULL-SIZE scene.

Usage::

    .venv/bin/python benchmarks/bench_s1_read.py [--out benchmarks/out/s1-io] [--reuse]
        [--pols VV] [--report docs/bench/s1-io.md]

Steps, each in its own process under ``/usr/bin/time -v`` (wall time and peak RSS):

1. ``rus simulate s1 OUT --shape 16705x26102 --pols VV`` (a full IW GRDH scene; skipped with
   ``--reuse`` when OUT already holds one),
2. ``rus info --json PRODUCT`` three times (lazy open: the target is < 2 s),
3. full-scene sigma0 (thermal noise removed) computed chunk by chunk on 2 threads and reduced to
   its mean (``--sigma0 PRODUCT`` mode of this script; the target is < ~2 GB peak RSS).

The results are written as a Markdown table to ``--report``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

NOTES = [
    "Notes:",
    "",
    "- Targets: `rus info` < 2 s on a full scene (lazy open); full-scene sigma0 chunk by chunk",
    "  with < ~2 GB peak RSS. CPU time is the figure to compare between runs: wall times depend",
    "  on what else runs on the two cores (five other jobs shared them during these runs).",
    "- The sigma0 step includes interpreter start, imports and loading the numba kernel from",
    "  its on-disk cache (compiling it the first time in a fresh checkout adds a few seconds).",
    "- About 1.3 GB of the simulator's peak RSS is the GSHHG land mask (roaring-landmask);",
    "  the strip-by-strip generation itself stays near 300 MB whatever the scene size.",
    "- Reading from a zip whose TIFF is *deflated* (not stored) costs more: a one-off run of the",
    "  same sigma0 step on a `zip -1` of a VV-only scene took 23-28 s wall / 11-14 s CPU and",
    "  ~0.8-0.9 GB RSS (load average 10-15), against 2.4 s CPU from the SAFE directory.",
]
ROOT = Path(__file__).resolve().parents[1]
RUS = Path(sys.executable).with_name("rus")
FULL = "16705x26102"


def timed(cmd: list[str]) -> tuple[float, float, float, str]:
    """Run ``cmd`` under ``/usr/bin/time -v``; return (wall s, CPU s, peak RSS MiB, stdout)."""
    proc = subprocess.run(
        ["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, check=False, cwd=ROOT
    )
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", proc.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    user = re.search(r"User time \(seconds\): (\S+)", proc.stderr)
    system = re.search(r"System time \(seconds\): (\S+)", proc.stderr)
    assert wall and rss and user and system, proc.stderr[-1000:]
    cpu = float(user.group(1)) + float(system.group(1))
    parts = [float(p) for p in wall.group(1).split(":")]
    seconds = sum(v * 60**i for i, v in enumerate(reversed(parts)))
    return seconds, cpu, int(rss.group(1)) / 1024.0, proc.stdout


def sigma0_mean(product: str) -> None:
    """Child mode: full-scene sigma0 mean, chunk by chunk on 2 threads."""
    import dask

    from rus.products.sentinel1 import open_s1_grd

    t0 = time.perf_counter()
    grd = open_s1_grd(product)
    pol = grd.metadata.polarisations[0]
    s0 = grd.intensity(pol)
    with dask.config.set(scheduler="threads", num_workers=2):
        mean = float(s0.mean().compute())
    print(
        f"pol={pol} shape={s0.shape} chunks={s0.data.chunksize} n_chunks={s0.data.npartitions} "
        f"mean_sigma0={mean:.6f} seconds={time.perf_counter() - t0:.2f}"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/out/s1-io")
    parser.add_argument("--pols", default="VV")
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--report", default="docs/bench/s1-io.md")
    parser.add_argument("--sigma0", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sigma0:
        sigma0_mean(args.sigma0)
        return 0
    out = ROOT / args.out
    load_before = os.getloadavg()[0]
    rows: list[tuple[str, str, float, float, float, str]] = []
    existing = sorted(out.glob("S1A_IW_GRDH_*.SAFE"))
    if not (args.reuse and existing):
        cmd = [
            str(RUS),
            "simulate",
            "s1",
            args.out,
            "--shape",
            FULL,
            "--ships",
            "60",
            "--seed",
            "0",
            "--pols",
            args.pols,
            "--json",
        ]
        wall, cpu, rss, stdout = timed(cmd)
        rows.append(("simulate full scene", " ".join(["rus", *cmd[1:]]), wall, cpu, rss, ""))
        existing = [ROOT / json.loads(stdout)["product"]]
    product = str(existing[-1].relative_to(ROOT))
    for i in range(3):
        wall, cpu, rss, _ = timed([str(RUS), "info", "--json", product])
        rows.append((f"rus info (run {i + 1})", "rus info --json PRODUCT", wall, cpu, rss, ""))
    cmd = [sys.executable, "benchmarks/bench_s1_read.py", "--sigma0", product]
    wall, cpu, rss, stdout = timed(cmd)
    rows.append(
        (
            "full-scene sigma0 mean",
            "python benchmarks/bench_s1_read.py --sigma0 PRODUCT",
            wall,
            cpu,
            rss,
            stdout.strip(),
        )
    )
    lines = [
        "# Sentinel-1 GRD I/O benchmark",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()} (2 cores / 24 GiB shared with other jobs)",
        f"- command: `.venv/bin/python benchmarks/bench_s1_read.py {' '.join(argv)}`".rstrip(),
        f"- product: `{product}` (SIMULATED, {FULL} lines x pixels, {args.pols})",
        f"- 1-min load average before / after: {load_before:.1f} / {os.getloadavg()[0]:.1f} "
        "(other jobs share the 2 cores: wall times are upper bounds)",
        "",
        "| step | wall (s) | CPU user+sys (s) | peak RSS (MiB) | command | output |",
        "|---|---:|---:|---:|---|---|",
    ]
    for name, command, w, c, r, note in rows:
        lines.append(f"| {name} | {w:.2f} | {c:.2f} | {r:.0f} | `{command}` | {note} |")
    lines += ["", *NOTES]
    report = ROOT / args.report
    report.parent.mkdir(parents=True, exist_ok=True)
    from rus._io import atomic_write_text

    atomic_write_text(report, "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
