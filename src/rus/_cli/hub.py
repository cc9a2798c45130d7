"""``rus search``, ``rus download``, ``rus store ...`` and ``rus hub serve``."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import typer

from rus._cli.common import console, echo_json

_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def register(app: typer.Typer) -> None:
    """Add the data-access commands to ``app``."""
    app.command("search")(search)
    app.command("download")(download)
    store = typer.Typer(help="The shared product store under RUS_HOME/store.", no_args_is_help=True)
    store.command("ls")(store_ls)
    store.command("import")(store_import)
    store.command("verify")(store_verify)
    store.command("evict")(store_evict)
    store.command("publish-demo")(store_publish_demo)
    app.add_typer(store, name="store")
    hub = typer.Typer(
        help="The local hub server (OData + STAC over the store).", no_args_is_help=True
    )
    hub.command("serve")(hub_serve)
    app.add_typer(hub, name="hub")


def _catalogue_url(url: str | None, hub: bool) -> str:
    from rus.settings import get_settings

    cfg = get_settings()
    if url:
        return url.rstrip("/")
    return f"{cfg.hub_url.rstrip('/')}/odata/v1" if hub else cfg.cdse_catalogue_url


def _query(
    collection: str,
    product_type: str | None,
    aoi: str | None,
    start: str | None,
    end: str | None,
    cloud_max: float | None,
    orbit_direction: str | None,
    relative_orbit: int | None,
    tile: str | None,
    sort: str,
    limit: int | None,
) -> Any:
    from rus.hub.query import make_query

    area: Any = aoi
    if aoi and Path(aoi).is_file():
        area = Path(aoi)
    desc = sort.startswith("-")
    field = {
        "start": "ContentDate/Start",
        "end": "ContentDate/End",
        "published": "PublicationDate",
    }.get(sort.lstrip("+-"), sort.lstrip("+-"))
    return make_query(
        collection,
        product_type=product_type,
        aoi=area,
        start=start,
        end=end,
        cloud_max=cloud_max,
        orbit_direction=orbit_direction,
        relative_orbit=relative_orbit,
        tile=tile,
        order_by=field,
        descending=desc,
        limit=limit,
    )


_COLLECTION = typer.Option("SENTINEL-1", "--collection", "-c", help="SENTINEL-1, SENTINEL-2, ...")
_TYPE = typer.Option(None, "--product-type", "-t", help="e.g. IW_GRDH_1S, S2MSI2A.")
_AOI = typer.Option(None, "--aoi", help="bbox 'minx,miny,maxx,maxy', WKT, GeoJSON file or place.")
_START = typer.Option(None, "--start", help="Sensing start (2024-03-01, 2024-03, START/END).")
_END = typer.Option(None, "--end", help="Sensing end (exclusive; a date means its whole day).")
_CLOUD = typer.Option(None, "--cloud-max", help="Maximum cloud cover in % (Sentinel-2).")
_ORBIT = typer.Option(None, "--orbit-direction", help="ASCENDING or DESCENDING.")
_REL = typer.Option(None, "--relative-orbit", help="Relative orbit number.")
_TILE = typer.Option(None, "--tile", help="MGRS tile such as 33TUL (Sentinel-2).")
_SORT = typer.Option("start", "--sort", help="start, -start, end, -end, published.")
_LIMIT = typer.Option(None, "--limit", "-n", help="Maximum number of products.")
_URL = typer.Option(None, "--url", help="Catalogue root (default RUS_CDSE_CATALOGUE_URL).")
_HUB = typer.Option(False, "--hub", help="Search/download the local hub (RUS_HUB_URL).")


def _records(q: Any, backend: str, url: str | None, hub: bool) -> list[Any]:
    if backend == "stac":
        from rus.hub.stac_client import StacClient
        from rus.settings import get_settings

        cfg = get_settings()
        stac_url = url or (f"{cfg.hub_url.rstrip('/')}/stac" if hub else cfg.cdse_stac_url)
        return list(StacClient(stac_url).search(q))
    if backend != "odata":
        raise typer.BadParameter(f"backend must be odata or stac, got {backend!r}")
    from rus.hub.odata import ODataClient

    return list(ODataClient(_catalogue_url(url, hub)).search(q))


def search(
    collection: str = _COLLECTION,
    product_type: str | None = _TYPE,
    aoi: str | None = _AOI,
    start: str | None = _START,
    end: str | None = _END,
    cloud_max: float | None = _CLOUD,
    orbit_direction: str | None = _ORBIT,
    relative_orbit: int | None = _REL,
    tile: str | None = _TILE,
    sort: str = _SORT,
    limit: int | None = _LIMIT,
    backend: str = typer.Option("odata", "--backend", help="odata or stac."),
    url: str | None = _URL,
    hub: bool = _HUB,
    as_json: bool = typer.Option(False, "--json", help="Print OData records as JSON."),
    geojson: bool = typer.Option(False, "--geojson", help="Print a GeoJSON FeatureCollection."),
) -> None:
    """Search the CDSE catalogue (or the local hub) with transparent paging."""
    q = _query(
        collection,
        product_type,
        aoi,
        start,
        end,
        cloud_max,
        orbit_direction,
        relative_orbit,
        tile,
        sort,
        limit,
    )
    records = _records(q, backend, url, hub)
    if geojson:
        echo_json({"type": "FeatureCollection", "features": [r.to_feature() for r in records]})
        return
    if as_json:
        echo_json([r.to_odata() for r in records])
        return
    from rich.table import Table

    table = Table(title=f"{len(records)} products")
    for col in ("Name", "Start", "Size (MB)", "Online", "Id"):
        table.add_column(col)
    for r in records:
        simulated = str(r.attributes.get("simulated", "")).lower() == "true"
        table.add_row(
            f"{r.name} [yellow](SIMULATED)[/]" if simulated else r.name,
            f"{r.start:%Y-%m-%d %H:%M:%S}" if r.start else "",
            f"{r.content_length / 1e6:.1f}" if r.content_length else "?",
            "yes" if r.online else "[yellow]offline[/]",
            r.id,
        )
    console.print(table)


def _token(catalogue: str, client: Any) -> Any:
    """A TokenManager for CDSE; None for a hub on this machine (no authentication)."""
    from rus.hub.auth import TokenManager, find_credentials, install_log_filter
    from rus.settings import get_settings

    install_log_filter()
    cfg = get_settings()
    if urlparse(catalogue).hostname in _LOCAL_HOSTS:
        return None  # a local hub serves without authentication
    creds = find_credentials(urlparse(cfg.cdse_token_url).hostname or "")
    return TokenManager(
        cfg.cdse_token_url, creds, client=client, cache_path=cfg.resolved_home / "cdse-token.json"
    )


def download(
    ids: list[str] = typer.Argument(None, help="Product Ids; or give search options instead."),
    out: Path = typer.Option(Path("downloads"), "--out", "-o", help="Destination folder."),
    to_store: bool = typer.Option(False, "--store", help="Download into the product store."),
    parallel: int | None = typer.Option(
        None, "--parallel", "-j", help="Concurrent downloads (default RUS_DOWNLOAD_PARALLEL=4)."
    ),
    collection: str = _COLLECTION,
    product_type: str | None = _TYPE,
    aoi: str | None = _AOI,
    start: str | None = _START,
    end: str | None = _END,
    cloud_max: float | None = _CLOUD,
    orbit_direction: str | None = _ORBIT,
    relative_orbit: int | None = _REL,
    tile: str | None = _TILE,
    limit: int | None = _LIMIT,
    url: str | None = _URL,
    hub: bool = _HUB,
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """Download products (parallel, resumable, checksum-verified); re-run to continue."""
    import httpx

    from rus.hub.odata import ODataClient
    from rus.settings import get_settings

    parallel = max(1, parallel or get_settings().download_parallel)
    catalogue = ODataClient(_catalogue_url(url, hub))
    if ids:
        records = [catalogue.get(i) for i in ids]
    else:
        if not (aoi or start or product_type):
            raise typer.BadParameter("give product Ids or search options (--aoi/--start/...)")
        records = list(
            catalogue.search(
                _query(
                    collection,
                    product_type,
                    aoi,
                    start,
                    end,
                    cloud_max,
                    orbit_direction,
                    relative_orbit,
                    tile,
                    "start",
                    limit,
                )
            )
        )
    client = httpx.Client(
        timeout=httpx.Timeout(60.0, connect=15.0), limits=httpx.Limits(max_connections=parallel * 2)
    )
    token = _token(catalogue.base_url, client)
    results = _run_downloads(records, catalogue, client, token, parallel, out, to_store)
    if as_json:
        echo_json([r.as_dict() for r in results])
    else:
        for r in results:
            colour = {"downloaded": "green", "present": "cyan", "offline": "yellow"}.get(
                r.status, "red"
            )
            console.print(f"[{colour}]{r.status:>10}[/] {r.name}  {r.message}")
    if any(r.status == "failed" for r in results):
        raise typer.Exit(1)


def _run_downloads(
    records: list[Any],
    catalogue: Any,
    client: Any,
    token: Any,
    parallel: int,
    out: Path,
    to_store: bool,
) -> list[Any]:
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    from rus.hub.download import Downloader

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=Console(stderr=True),
    )
    total = sum(r.content_length for r in records) or None
    overall = bar.add_task(f"all ({len(records)})", total=total)
    tasks: dict[str, Any] = {}
    last: dict[str, int] = {}

    def progress(name: str, done: int, size: int | None) -> None:
        if name not in tasks:
            tasks[name] = bar.add_task(name[:48], total=size)
        bar.update(tasks[name], completed=done, total=size)
        bar.update(overall, advance=done - last.get(name, 0))
        last[name] = done

    downloader = Downloader(client, token=token, max_parallel=parallel, progress=progress)
    with bar:
        if to_store:
            from rus.hub.store import open_store
            from rus.hub.store_ops import fetch_into_store

            return fetch_into_store(
                open_store(),
                records,
                lambda r: catalogue.download_url(r.id),
                downloader,
                source=catalogue.base_url,
            )
        return downloader.download_many([(r, catalogue.download_url(r.id)) for r in records], out)


def _row_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "collection": row.collection,
        "product_type": row.product_type,
        "start": row.start,
        "size": row.size,
        "status": row.status,
        "simulated": row.simulated,
        "path": row.rel_path,
        "last_access": row.last_access,
        "md5": row.md5,
        "blake3": row.blake3,
    }


def store_ls(
    limit: int | None = typer.Option(None, "--limit", "-n"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List the products held in the store."""
    from rus.hub.store import open_store

    store = open_store()
    rows = store.list_products(limit=limit)
    if as_json:
        echo_json([{**_row_dict(r), "references": store.references(r.id)} for r in rows])
        return
    from rich.table import Table

    table = Table(title=f"{store.root}: {len(rows)} products, {store.total_bytes() / 1e6:.1f} MB")
    for col in ("Name", "Collection", "Start", "MB", "Status", "Refs"):
        table.add_column(col)
    for r in rows:
        name = f"{r.name} [yellow](SIMULATED)[/]" if r.simulated else r.name
        table.add_row(
            name,
            r.collection,
            f"{r.start:%Y-%m-%d}" if r.start else "",
            f"{r.size / 1e6:.1f}",
            r.status,
            str(len(store.references(r.id))),
        )
    console.print(table)


def store_import(
    paths: list[Path] = typer.Argument(..., help="Products rus info understands."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Import your own products into the store (deduplicated)."""
    from rus.hub.store import open_store
    from rus.hub.store_ops import import_path

    store = open_store()
    rows = [import_path(store, p) for p in paths]
    if as_json:
        echo_json([_row_dict(r) for r in rows])
        return
    for r in rows:
        console.print(f"[green]stored[/] {r.name} -> {r.rel_path}")


def store_verify(
    ids: list[str] = typer.Argument(None, help="Product Ids or names (default: all)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Re-check stored checksums; corrupt files are quarantined."""
    from rus.hub.store import open_store
    from rus.hub.store_ops import verify

    reports = verify(open_store(), ids or None)
    if as_json:
        echo_json([r.__dict__ for r in reports])
    else:
        for r in reports:
            console.print(f"{'[green]ok[/]' if r.ok else '[red]BAD[/]'} {r.name}: {r.message}")
    if not all(r.ok for r in reports):
        raise typer.Exit(1)


def store_evict(
    target_bytes: int | None = typer.Option(
        None, "--target-bytes", help="Evict down to this size (default the cap)."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Evict unreferenced products, least recently used first."""
    from rus.hub.store import open_store

    store = open_store()
    if target_bytes is None and store.max_bytes is None:
        raise typer.BadParameter("no size cap set: give --target-bytes or RUS_STORE_MAX_BYTES")
    evicted = store.evict(target_bytes)
    if as_json:
        echo_json([_row_dict(r) for r in evicted])
    else:
        console.print(f"evicted {len(evicted)} products; store now {store.total_bytes()} bytes")


def store_publish_demo(
    folder: Path = typer.Argument(None, help="Demo folder (default RUS_HOME/demo)."),
) -> None:
    """Import every demo product so that the hub serves it (offline demo)."""
    from rus.hub.store import open_store
    from rus.hub.store_ops import publish_demo
    from rus.settings import get_settings

    rows = publish_demo(open_store(), folder or get_settings().demo_dir)
    console.print(f"published {len(rows)} products")


def hub_serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface (keep 127.0.0.1 locally)."),
    port: int = typer.Option(8081, "--port"),
    upstream: str | None = typer.Option(
        None, "--upstream", help="CDSE-like catalogue root to proxy misses to."
    ),
    rate_limit: float | None = typer.Option(
        None, "--rate-limit", help="Bytes/s per download (e.g. 20e6)."
    ),
    publish: bool = typer.Option(
        False, "--publish-demo", help="Import RUS_HOME/demo products first."
    ),
) -> None:
    """Serve the product store with the OData subset and a STAC API."""
    import uvicorn

    from rus.hub.auth import install_log_filter
    from rus.hub.server import Upstream, create_hub_app
    from rus.hub.store import open_store
    from rus.settings import get_settings

    install_log_filter()
    store = open_store()
    if publish and get_settings().demo_dir.is_dir():
        from rus.hub.store_ops import publish_demo

        publish_demo(store, get_settings().demo_dir)
    up = None
    if upstream:
        import httpx

        from rus.hub.download import Downloader
        from rus.hub.odata import ODataClient

        client = httpx.Client(timeout=60.0)
        catalogue = ODataClient(upstream, client=client)
        up = Upstream(catalogue, Downloader(client, token=_token(upstream, client)))
    app = create_hub_app(store, upstream=up, rate_limit=rate_limit)
    console.print(
        f"rus hub serving {store.root} on http://{host}:{port} (OData /odata/v1, STAC /stac)"
    )
    uvicorn.run(app, host=host, port=port, log_level="info")
