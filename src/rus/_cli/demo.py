"""``rus demo``: prepare the embedded demo (simulated products + both exercise chains).

This is what ``make run`` calls. Products are written once under ``$RUS_HOME/demo`` and reused on
later runs; the chains are re-run each time (they take seconds).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from rus._cli.common import console, echo_json, parse_shape

status = Console(stderr=True)  # progress messages; stdout stays clean for --json


def register(app: typer.Typer) -> None:
    """Add ``rus demo`` to ``app``."""
    app.command("demo")(demo)


def _find(folder: Path, pattern: str) -> Path | None:
    found = sorted(folder.glob(pattern)) if folder.is_dir() else []
    return found[0] if found else None


def prepare_demo(
    demo_dir: Path, *, s1_shape: tuple[int, int], s2_shape: tuple[int, int], seed: int = 1
) -> dict[str, Any]:
    """Simulate the demo products (if absent) and run both chains; return a summary.

    Parameters
    ----------
    demo_dir
        Folder of the demo (``$RUS_HOME/demo``).
    s1_shape, s2_shape
        Sizes of the simulated Sentinel-1 scene (lines x pixels) and Sentinel-2 tile (10 m).
    seed
        Random seed of the simulations.
    """
    from rus.chains.burned_area import run_burned_area
    from rus.chains.ship_detection import run_ship_detection
    from rus.products.simulate.s1 import simulate_s1_grd
    from rus.products.simulate.s2 import simulate_s2_fire

    s1_dir, s2_dir = demo_dir / "products" / "s1", demo_dir / "products" / "s2"
    s1 = _find(s1_dir, "S1*_IW_GRDH_*.SAFE")
    if s1 is None:
        status.print("simulating a Sentinel-1 IW GRDH scene of the Gulf of Trieste (SIMULATED)")
        s1 = simulate_s1_grd(
            s1_dir, shape=s1_shape, ships=40, seed=seed, aoi="trieste", progress=True
        ).product
    pre, post = (
        _find(s2_dir, "S2*_MSIL2A_20170614*.SAFE"),
        _find(s2_dir, "S2*_MSIL2A_20170704*.SAFE"),
    )
    if pre is None or post is None:
        status.print("simulating a pre/post-fire Sentinel-2 L2A pair, T29TNE (SIMULATED)")
        sim = simulate_s2_fire(s2_dir, shape=s2_shape, seed=seed, aoi="pedrogao", progress=True)
        pre, post = sim.pre, sim.post
    status.print("running the ship detection exercise chain")
    ships = run_ship_detection(s1, demo_dir / "outputs" / "ships")
    status.print("running the burned area exercise chain")
    burn = run_burned_area(pre, post, demo_dir / "outputs" / "burn")
    return {
        "products": {"s1": str(s1), "s2_pre": str(pre), "s2_post": str(post)},
        "ships": {"count": len(ships.ships), **{k: str(v) for k, v in ships.outputs.items()}},
        "burn": {
            "burned_ha": burn.stats.get("burned_ha"),
            **{k: str(v) for k, v in burn.files.items()},
        },
        "simulated": True,
    }


def publish_to_store(demo_dir: Path) -> int:
    """Import the demo products into the shared product store; return how many it holds."""
    from rus.hub.store import open_store
    from rus.hub.store_ops import publish_demo

    store = open_store()
    return len(publish_demo(store, demo_dir / "products"))


def demo(
    s1_shape: str = typer.Option(
        "6000x8000", help="Simulated S1 scene, LINESxPIXELS (full: 16705x26102)."
    ),
    s2_shape: str = typer.Option(
        "2196x2196", help="Simulated S2 tile size at 10 m (full: 10980x10980)."
    ),
    seed: int = typer.Option(1, help="Random seed of the simulated products."),
    serve: bool = typer.Option(True, help="Then start the portal (and the hub) and keep running."),
    host: str = typer.Option("127.0.0.1", help="Interface for the portal and the hub."),
    port: int = typer.Option(8000, help="Portal port."),
    hub_port: int = typer.Option(8081, help="Hub (OData/STAC) port, serving the product store."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Prepare the demo under $RUS_HOME/demo (simulated products, both exercise chains, product
    store) and start the portal on http://127.0.0.1:8000 with the hub beside it."""
    from rus.settings import get_settings

    settings = get_settings()
    summary = prepare_demo(
        settings.demo_dir,
        s1_shape=parse_shape(s1_shape),
        s2_shape=parse_shape(s2_shape),
        seed=seed,
    )
    summary["store_products"] = publish_to_store(settings.demo_dir)
    if as_json:
        echo_json(summary)
    else:
        console.print("\n[bold]Demo ready[/] (all inputs are SIMULATED products):")
        console.print(
            f"  ships detected: {summary['ships']['count']} -> {summary['ships'].get('ships_kml')}"
        )
        console.print(
            f"  burned area: {summary['burn']['burned_ha']} ha -> {summary['burn'].get('severity')}"
        )
        console.print(f"  products in the store: {summary['store_products']}")
        console.print(f"  everything under {settings.demo_dir}")
    if serve:
        _serve(host, port, hub_port)


def _serve(host: str, port: int, hub_port: int) -> None:
    """Start the hub in a thread and the portal in the foreground (Ctrl-C stops both)."""
    import uvicorn

    from rus._cli.portal import prepare_portal_database, print_admin_password
    from rus.hub._serve import serve_in_thread
    from rus.hub.server import create_hub_app
    from rus.hub.store import open_store
    from rus.portal.app import create_app
    from rus.settings import get_settings

    base_url = f"http://{host}:{port}"
    settings = get_settings().model_copy(update={"base_url": base_url})
    password = prepare_portal_database()
    with serve_in_thread(create_hub_app(open_store()), host=host, port=hub_port) as hub_url:
        console.print(f"Hub (OData + STAC over the product store): {hub_url}/odata/v1/Products")
        print_admin_password(password, base_url)
        uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
