"""Fetch (once, cached) the packages that ship real Sentinel test data, and unpack them.

``python -m tests.fetch_data CACHE`` downloads with pip:

- the sarsen 0.9.6 sdist (a full-size Sentinel-1B IW GRDH SAFE with real XML),
- the xarray-sentinel 0.9.6 sdist (S1 SAFE products with real XML),
- the xarray-spatial 0.5.3 wheel (a real Sentinel-2 crop as NetCDF).

Each is unpacked under ``CACHE/<name>/``. Failures are reported, not fatal: tests that need the
data skip with the reason.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

PACKAGES = {
    "sarsen": ("sarsen==0.9.6", ["--no-binary", ":all:"]),
    "xarray-sentinel": ("xarray-sentinel==0.9.6", ["--no-binary", ":all:"]),
    "xarray-spatial": ("xarray-spatial==0.5.3", ["--only-binary", ":all:"]),
}


def fetch(cache: Path, name: str) -> Path | None:
    """Return the unpacked folder of package ``name`` under ``cache``, fetching it if needed."""
    target = cache / name
    done = target / ".complete"
    if done.exists():
        return target
    spec, flags = PACKAGES[name]
    dl = cache / "downloads"
    dl.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(dl), *flags, spec]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(f"fetch_data: could not download {spec}: {proc.stderr.strip()[-500:]}")
        return None
    stem = spec.replace("==", "-").replace("-", "_")
    archives = [p for p in dl.iterdir() if p.name.replace("-", "_").startswith(stem)]
    if not archives:
        print(f"fetch_data: no archive for {spec} in {dl}")
        return None
    archive = archives[0]
    tmp = cache / f".{name}.tmp"
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    if archive.suffix == ".whl" or archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(tmp)
    else:
        with tarfile.open(archive) as tf:
            tf.extractall(tmp, filter="data")
    if target.exists():
        import shutil

        shutil.rmtree(target)
    tmp.rename(target)
    done.touch()
    return target


def main(argv: list[str]) -> int:
    cache = Path(argv[1] if len(argv) > 1 else ".cache/test-data")
    cache.mkdir(parents=True, exist_ok=True)
    for name in PACKAGES:
        path = fetch(cache, name)
        print(f"fetch_data: {name}: {path or 'unavailable'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
