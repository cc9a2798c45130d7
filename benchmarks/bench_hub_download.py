"""Download throughput and CPU use against the local hub on loopback.

1. A ``--size-mb`` (default 2048) product is put in a fresh store, ``rus hub serve`` runs in a
   child process, and the same product is fetched alternately by ``curl`` and by
   :class:`rus.hub.download.Downloader` (which also hashes BLAKE3, verifies and fsyncs).
   Throughput is reported for curl, curl + fsync (the same durability as rus) and rus.
2. Four products are downloaded in parallel from a hub limited to 20 MB/s per connection (the
   CDSE per-connection quota); per-core CPU is sampled with psutil for the whole machine and
   the client + server processes' CPU time is reported as a share of the cores.

Run: ``.venv/bin/python benchmarks/bench_hub_download.py [--size-mb 2048] [--repeat 2]``
Results: printed and written to ``benchmarks/out/bench_hub_download.json``; the generated
products are deleted afterwards (disk is limited).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil

from rus.hub._serve import serve_in_process
from rus.hub.download import Downloader
from rus.hub.odata import ODataClient
from rus.hub.records import ProductRecord
from rus.hub.store import ProductStore

OUT = Path(__file__).resolve().parent / "out"
MB = 1_000_000


def _write_product(path: Path, size: int, seed: int) -> None:
    block = os.urandom(32 << 20) if seed == 0 else bytes([seed]) + os.urandom((32 << 20) - 1)
    with open(path, "wb") as fh:
        left = size
        while left > 0:
            fh.write(block[: min(left, len(block))])
            left -= len(block)


def _add(store: ProductStore, tmp: Path, i: int, size: int) -> ProductRecord:
    name = f"S1A_IW_GRDH_1SDV_20240101T0{i:05d}_BENCH.SAFE"
    rec = ProductRecord(
        id=f"bench-{i:04d}",
        name=name,
        collection="SENTINEL-1",
        start=datetime(2024, 1, 1, tzinfo=UTC),
    )
    src = tmp / f"{i}.bin"
    _write_product(src, size, i)
    store.add(src, rec, source="benchmark", simulated=True, move=True)
    return rec


def _curl(url: str, dest: Path, fsync: bool) -> float:
    t0 = time.perf_counter()
    subprocess.run(["curl", "-sS", "--fail", "-o", str(dest), url], check=True)
    if fsync:
        fd = os.open(dest, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
    seconds = time.perf_counter() - t0
    dest.unlink()
    return seconds


def _rus(rec: ProductRecord, url: str, dest: Path) -> float:
    t0 = time.perf_counter()
    res = Downloader().download(rec, url, dest)
    seconds = time.perf_counter() - t0
    if res.status != "downloaded" or res.checksum_status != "verified":
        raise SystemExit(f"rus download failed: {res.message}")
    shutil.rmtree(dest)
    return seconds


class CpuSampler(threading.Thread):
    """Samples per-core CPU % of the machine every ``interval`` seconds."""

    def __init__(self, interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.samples: list[list[float]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        psutil.cpu_percent(percpu=True)
        while not self._halt.wait(self.interval):
            self.samples.append(psutil.cpu_percent(percpu=True))

    def stop(self) -> None:
        self._halt.set()
        self.join()


def _cpu_seconds(pid: int) -> float:
    t = psutil.Process(pid).cpu_times()
    return float(t.user + t.system)


def parallel_run(home: Path, recs: list[ProductRecord], rate: float | None) -> dict[str, float]:
    """Four parallel downloads; CPU of the machine and of client + server."""
    extra = ("--rate-limit", str(rate)) if rate else ()
    with serve_in_process(str(home), extra_args=extra) as (url, pid):
        cat = ODataClient(f"{url}/odata/v1")
        recs = [cat.get(r.id) for r in recs]
        dest = home / "parallel"
        sampler = CpuSampler()
        c0, s0 = _cpu_seconds(os.getpid()), _cpu_seconds(pid)
        sampler.start()
        t0 = time.perf_counter()
        res = Downloader(max_parallel=4).download_many(
            [(r, cat.download_url(r.id)) for r in recs], dest
        )
        wall = time.perf_counter() - t0
        sampler.stop()
        client, server = _cpu_seconds(os.getpid()) - c0, _cpu_seconds(pid) - s0
        shutil.rmtree(dest)
    assert all(r.status == "downloaded" for r in res), [r.message for r in res]
    cores = psutil.cpu_count() or 1
    per_core = [max(s) for s in sampler.samples] or [0.0]
    mean_core = [sum(s) / len(s) for s in sampler.samples] or [0.0]
    total = sum(r.size for r in res)
    return {
        "rate_limit_mb_s": (rate or 0) / MB,
        "seconds": wall,
        "mb_s": total / MB / wall,
        "client_cpu_pct_of_machine": 100 * client / wall / cores,
        "server_cpu_pct_of_machine": 100 * server / wall / cores,
        "client_plus_server_pct_of_one_core": 100 * (client + server) / wall,
        "machine_busiest_core_max_pct": max(per_core),
        "machine_busiest_core_median_pct": sorted(per_core)[len(per_core) // 2],
        "machine_mean_core_pct": sum(mean_core) / len(mean_core),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=int, default=2048)
    ap.add_argument("--parallel-mb", type=int, default=200, help="size of each parallel product")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--rate", type=float, default=20e6, help="bytes/s per connection (quota)")
    args = ap.parse_args()
    home = OUT / "hub-download"
    shutil.rmtree(home, ignore_errors=True)
    (home / "tmp").mkdir(parents=True)
    try:
        store = ProductStore(home / "store", f"sqlite:///{home / 'rus.db'}")
        t0 = time.perf_counter()
        big = _add(store, home / "tmp", 0, args.size_mb * MB)
        ingest = time.perf_counter() - t0
        small = [_add(store, home / "tmp", i, args.parallel_mb * MB) for i in range(1, 5)]
        single: dict[str, list[float]] = {"curl": [], "curl_fsync": [], "rus": []}
        with serve_in_process(str(home)) as (url, _pid):
            cat = ODataClient(f"{url}/odata/v1")
            big = cat.get(big.id)  # the hub's record carries MD5 + BLAKE3
            value = cat.download_url(big.id)
            for _ in range(args.repeat):
                single["curl"].append(_curl(value, home / "curl.bin", fsync=False))
                single["rus"].append(_rus(big, value, home / "rus"))
                single["curl_fsync"].append(_curl(value, home / "curl.bin", fsync=True))
        size = args.size_mb * MB
        best = {k: size / MB / min(v) for k, v in single.items()}
        median = {k: size / MB / sorted(v)[len(v) // 2] for k, v in single.items()}
        result = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {psutil.cpu_count()} cores, "
            f"{psutil.virtual_memory().total / 2**30:.0f} GiB",
            "product_mb": args.size_mb,
            "store_ingest_s": ingest,
            "single_mb_s_best": best,
            "single_mb_s_median": median,
            "single_seconds": single,
            "rus_vs_curl": best["rus"] / best["curl"],
            "rus_vs_curl_fsync": best["rus"] / best["curl_fsync"],
            "rus_vs_curl_median": median["rus"] / median["curl"],
            "parallel_quota": parallel_run(home, small, args.rate),
            "parallel_unlimited": parallel_run(home, small, None),
        }
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(json.dumps(result, indent=2))
    (OUT / "bench_hub_download.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
