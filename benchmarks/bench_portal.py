"""Portal load benchmark: list and dashboard pages under concurrent clients on loopback.

Seeds a database with USERS users and REQUESTS service requests (mixed states, 3 years of
history), starts ``rus serve`` on a free 127.0.0.1 port and drives it with ``wrk`` (Debian
package; fallback: a bounded asyncio httpx load loop) as a logged-in admin, one run per page.

    .venv/bin/python benchmarks/bench_portal.py [--users 10000] [--requests 50000]
        [--clients 50] [--seconds 20] [--workers 2] [--out benchmarks/out/portal.json]
        [--pages queue,all,desk,dashboard-json,requests-json] [--reuse-port]

Prints one JSON line per page with requests/s and latency percentiles (ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ADMIN_EMAIL = "bench-admin@example.org"
ADMIN_PASSWORD = "benchmark admin password"
WRK_LUA = """
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %.3f %.3f %.3f %.3f\\n", summary.requests,
    summary.duration, summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def seed(url: str, n_users: int, n_requests: int, seed_value: int = 1) -> None:
    """Fill a migrated database with synthetic users and requests (bulk inserts)."""
    from sqlalchemy import insert

    from rus.db.base import make_engine
    from rus.db.migrate import upgrade
    from rus.db.models.accounts import User
    from rus.db.models.requests import ServiceRequest
    from rus.services.accounts import hash_password

    upgrade(url)
    rng = random.Random(seed_value)
    now = datetime.now(UTC)
    pw = hash_password("synthetic user password")  # one hash for all: seeding, not hashing
    engine = make_engine(url)
    levels = {
        "basic": (1, 2, 4, 1.0, 3),
        "rnd": (1, 4, 4, 5.0, 6),
        "proficient": (4, 4, 8, 20.0, 12),
    }
    states = ["submitted"] * 20 + ["approved"] * 50 + ["rejected"] * 20
    states += ["info_requested"] * 5 + ["withdrawn"] * 5
    with engine.begin() as conn:
        users = [
            {
                "email": f"user{i:05d}@example.org",
                "password_hash": pw,
                "full_name": f"User {i}",
                "organisation": f"Org {i % 300}",
                "country": "",
                "thematic_domain": rng.choice(["maritime", "forestry", "agriculture"]),
                "user_type": rng.choice(list(levels)),
                "role": "user",
                "is_verified": True,
                "is_active": True,
                "created_at": now - timedelta(days=rng.uniform(0, 1100)),
            }
            for i in range(n_users)
        ]
        users.append({**users[0], "email": ADMIN_EMAIL, "role": "admin",
                      "password_hash": hash_password(ADMIN_PASSWORD)})  # fmt: skip
        conn.execute(insert(User), users)
        rows = []
        for j in range(n_requests):
            level = rng.choice(list(levels))
            vms, cpv, ram, disk, months = levels[level]
            state = rng.choice(states)
            created = now - timedelta(days=rng.uniform(0, 1100))
            decided = created + timedelta(days=2) if state in ("approved", "rejected") else None
            expires = now + timedelta(days=rng.uniform(-400, 360)) if state == "approved" else None
            rows.append({
                "owner_id": rng.randint(1, n_users), "kind": "new",
                "title": f"Synthetic project {j}", "description": "benchmark seed",
                "application_domain": "maritime", "datasets": ["S1 GRD"],
                "copernicus_main_source": True,
                "aoi_wkt": "POLYGON ((13.4 45.5, 13.8 45.5, 13.8 45.8, 13.4 45.5))",
                "period_start": date(2024, 1, 1), "period_end": date(2024, 6, 30),
                "data_volume_gb": 100.0, "processing_needs": "moderate", "software_needs": "",
                "requested_months": months, "n_users": 1, "support_level": level,
                "state": state, "eligible": True, "eligibility_note": "eligible",
                "vms": vms, "cores_per_vm": cpv, "ram_per_core_gb": ram, "disk_tb": disk,
                "duration_months": months, "support_hours": 8, "sizing_notes": [],
                "decision_reason": "", "created_at": created, "updated_at": created,
                "decided_at": decided, "expires_at": expires,
            })  # fmt: skip
            if len(rows) == 5000:
                conn.execute(insert(ServiceRequest), rows)
                rows = []
        if rows:
            conn.execute(insert(ServiceRequest), rows)
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def login_cookie(base: str) -> str:
    """Log in as the benchmark admin; return the ``Cookie`` header value."""
    import httpx

    r = httpx.post(f"{base}/api/v1/auth/login",
                   json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}, timeout=30)  # fmt: skip
    r.raise_for_status()
    return f"rus_session={r.cookies['rus_session']}"


def run_wrk(url: str, cookie: str, clients: int, seconds: int, lua: Path) -> dict[str, Any]:
    """One wrk run; latencies in ms."""
    out = subprocess.run(
        ["wrk", "-t2", f"-c{clients}", f"-d{seconds}s", "--timeout", "10s", "-s", str(lua),
         "-H", f"Cookie: {cookie}", url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    match = re.search(r"RESULT (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)", out)
    if not match:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    n, dur_us, errors = (int(match.group(i)) for i in (1, 2, 3))
    p50, p95, p99, pmax = (float(match.group(i)) for i in (4, 5, 6, 7))
    return {"tool": "wrk", "requests": n, "rps": round(n / (dur_us / 1e6), 1), "errors": errors,
            "p50_ms": p50, "p95_ms": p95, "p99_ms": p99, "max_ms": pmax}  # fmt: skip


async def _httpx_load(url: str, cookie: str, clients: int, seconds: int) -> dict[str, Any]:
    import httpx

    lat: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            r = await client.get(url, headers={"Cookie": cookie})
            lat.append((time.perf_counter() - t0) * 1000)
            errors += r.status_code != 200

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        dur = time.perf_counter() - t0
    lat.sort()

    def pct(q: float) -> float:
        return round(lat[min(len(lat) - 1, int(q * len(lat)))], 3)

    return {"tool": "httpx", "requests": len(lat), "rps": round(len(lat) / dur, 1),
            "errors": errors, "p50_ms": pct(0.5), "p95_ms": pct(0.95), "p99_ms": pct(0.99),
            "max_ms": round(lat[-1], 3)}  # fmt: skip


def start_servers(
    port: int, workers: int, reuse_port: bool, env: dict[str, str], log: Any
) -> list[subprocess.Popen[bytes]]:
    """Start the portal on 127.0.0.1:``port`` with ``workers`` processes.

    Default: ``uvicorn --workers N``, where all workers accept on one shared socket. A burst of
    new connections (wrk opens all 50 at once) often lands mostly on one worker, and keep-alive
    keeps it there for the whole run. With ``reuse_port``, each worker is a single-process
    uvicorn on its own ``SO_REUSEPORT`` socket (``--fd``), and the kernel spreads connections
    evenly, as ``gunicorn --reuse-port`` does.
    """
    base = [sys.executable, "-m", "uvicorn", "rus.portal.asgi:app", "--log-level", "warning",
            "--no-access-log"]  # fmt: skip
    if not reuse_port:
        cmd = [*base, "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
        return [subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)]
    procs = []
    for _ in range(workers):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(2048)
        fd = sock.fileno()
        cmd = [*base, "--fd", str(fd)]
        procs.append(subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                      cwd=ROOT, pass_fds=[fd]))  # fmt: skip
        sock.close()  # the worker holds its own copy
    return procs


PAGES = {
    "queue": ("review queue (submitted, page 3)", "/admin/requests?state=submitted&page=3"),
    "all": ("all requests (page 40)", "/admin/requests?state=all&page=40"),
    "desk": ("service desk dashboard", "/desk"),
    "dashboard-json": ("dashboard JSON", "/api/v1/desk/dashboard"),
    "requests-json": ("requests JSON (offset 1000)", "/api/v1/requests?offset=1000&limit=25"),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--users", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=50_000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    ap.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    pg_help = "start a throwaway PostgreSQL 15 (scripts/pg-test.sh) and use it"
    ap.add_argument("--postgres", action="store_true", help=pg_help)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "portal.json")
    reuse_help = "one uvicorn per worker on its own SO_REUSEPORT socket (even connection spread)"
    ap.add_argument("--reuse-port", action="store_true", help=reuse_help)
    ap.add_argument("--pages", default=",".join(PAGES), help="comma-separated subset of pages")
    args = ap.parse_args(argv)
    keys = [k.strip() for k in args.pages.split(",") if k.strip()]
    unknown = [k for k in keys if k not in PAGES]
    if unknown or not keys:
        ap.error(f"--pages: unknown {unknown or 'empty'}; choose from {', '.join(PAGES)}")

    load_start = round(os.getloadavg()[0], 2)
    print(f"1-minute load average at start: {load_start}", flush=True)
    home = Path(tempfile.mkdtemp(prefix="rus-bench-portal-"))
    pg_dir = None
    if args.postgres:
        out = subprocess.run(["bash", str(ROOT / "scripts" / "pg-test.sh"), "start"],
                             check=True, capture_output=True, text=True).stdout  # fmt: skip
        values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        args.database_url, pg_dir = values["URL"], values["DIR"]
    url = args.database_url or f"sqlite:///{home / 'rus.db'}"
    t0 = time.perf_counter()
    seed(url, args.users, args.requests)
    seed_s = time.perf_counter() - t0
    print(f"seeded {args.users} users, {args.requests} requests in {seed_s:.1f} s", flush=True)

    port = _free_port()
    env = {**os.environ, "RUS_HOME": str(home), "RUS_DATABASE_URL": url,
           "RUS_ENVIRONMENT": "test", "RUS_SECRET_KEY": os.urandom(16).hex()}  # fmt: skip
    log = (home / "serve.log").open("w")
    procs = start_servers(port, args.workers, args.reuse_port, env, log)
    base = f"http://127.0.0.1:{port}"
    results: list[dict[str, Any]] = []
    try:
        import httpx

        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        cookie = login_cookie(base)
        pages = dict(PAGES[k] for k in keys)
        lua = home / "report.lua"
        lua.write_text(WRK_LUA)
        for name, path in pages.items():
            r = httpx.get(base + path, headers={"Cookie": cookie}, timeout=30)
            assert r.status_code == 200, (path, r.status_code, r.text[:300])
            load = round(os.getloadavg()[0], 2)
            if shutil.which("wrk"):
                res = run_wrk(base + path, cookie, args.clients, args.seconds, lua)
            else:
                res = asyncio.run(_httpx_load(base + path, cookie, args.clients, args.seconds))
            res.update(page=name, path=path, clients=args.clients, load_1min_before=load)
            results.append(res)
            print(json.dumps(res), flush=True)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        log.close()
        shutil.rmtree(home, ignore_errors=True)
        if pg_dir:
            subprocess.run(["bash", str(ROOT / "scripts" / "pg-test.sh"), "stop", pg_dir])
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": url.split(":", 1)[0], "users": args.users, "requests": args.requests,
        "workers": args.workers, "reuse_port": args.reuse_port,
        "load_average_at_start": load_start,
        "cpus": os.cpu_count(), "seed_s": round(seed_s, 1), "results": results,
    }  # fmt: skip
    from rus._io import atomic_write_text

    atomic_write_text(args.out, json.dumps(report, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
