"""``rus info`` and ``rus simulate ...``."""

from __future__ import annotations

from pathlib import Path

import typer

from rus._cli.common import console, echo_json, parse_shape


def register(app: typer.Typer) -> None:
    """Add the product commands to ``app``."""
    app.command("info")(info)
    sim = typer.Typer(help="Write simulated products in the real formats (labelled simulated).")
    sim.command("s1")(simulate_s1)
    sim.command("s2-fire")(simulate_s2_fire)
    app.add_typer(sim, name="simulate")


def info(
    product: str = typer.Argument(..., help="SAFE directory or .zip, STAC Item JSON/URL, GeoTIFF."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """Describe a product: mission, type, times, footprint, shapes, bands, chunking (lazy)."""
    from rus.products.info import describe_product

    desc = describe_product(product)
    if as_json:
        echo_json(desc)
        return
    from rich.table import Table

    table = Table(show_header=False, box=None)
    if desc.get("simulated"):
        console.print("[bold yellow]SIMULATED PRODUCT[/] (written by rus simulate, not ESA data)")
    for key, value in desc.items():
        if key == "footprint" and isinstance(value, dict):
            coords = value.get("coordinates", [[]])[0]
            value = f"{value.get('type')} with {len(coords)} vertices"
        table.add_row(f"[bold]{key}[/]", str(value))
    console.print(table)


def simulate_s1(
    out: Path = typer.Argument(..., help="Output folder; the SAFE directory is written inside."),
    shape: str = typer.Option(
        "2000x3000", help="LINESxPIXELS (a full IW GRDH is about 16705x26102)."
    ),
    ships: int = typer.Option(50, help="Number of ships to insert."),
    seed: int = typer.Option(0, help="Random seed (same seed, same product)."),
    aoi: str = typer.Option("trieste", help="Named AOI (trieste) or a WKT polygon in lon/lat."),
    pols: str = typer.Option("VV,VH", help="Comma-separated polarisations (VV,VH or HH,HV)."),
    as_json: bool = typer.Option(False, "--json", help="Print the written paths as JSON."),
) -> None:
    """Simulate a Sentinel-1 IW GRDH SAFE product with ships, and its truth GeoJSON."""
    from rus.products.simulate.s1 import simulate_s1_grd

    result = simulate_s1_grd(
        out,
        shape=parse_shape(shape),
        ships=ships,
        seed=seed,
        aoi=aoi,
        pols=tuple(p.strip().upper() for p in pols.split(",") if p.strip()),
        progress=not as_json,
    )
    if as_json:
        echo_json({"product": result.product, "truth": result.truth})
    else:
        console.print(f"wrote [bold]{result.product}[/] (SIMULATED) and {result.truth}")


def simulate_s2_fire(
    out: Path = typer.Argument(..., help="Output folder for the pre/post SAFE pair and truth."),
    shape: str = typer.Option("2196x2196", help="ROWSxCOLS at 10 m (full tile: 10980x10980)."),
    seed: int = typer.Option(0, help="Random seed (same seed, same products)."),
    aoi: str = typer.Option("pedrogao", help="Named AOI (pedrogao) or a WKT polygon in lon/lat."),
    level: str = typer.Option(
        "L2A", help="L2A (surface reflectance + SCL) or L1C (top-of-atmosphere, 13 bands)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the written paths as JSON."),
) -> None:
    """Simulate a pre- and post-fire Sentinel-2 L2A (or L1C) SAFE pair with a burn scar, and
    its truth (severity, clouds)."""
    from rus.products.simulate.s2 import simulate_s2_fire as _simulate

    result = _simulate(
        out,
        shape=parse_shape(shape),
        seed=seed,
        aoi=aoi,
        progress=not as_json,
        level=level.strip().upper(),
    )
    if as_json:
        echo_json(
            {
                "pre": result.pre,
                "post": result.post,
                "truth": result.truth,
                "truth_clouds": result.truth_clouds,
                "level": result.level,
            }
        )
    else:
        console.print(
            f"wrote [bold]{result.pre}[/] and [bold]{result.post}[/] (SIMULATED), {result.truth}"
        )
