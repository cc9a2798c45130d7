"""``rus ships`` (Sentinel-1 ship detection) and ``rus evaluate ships`` (xView3 scoring)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from rus._cli.common import console, echo_json


def register(app: typer.Typer) -> None:
    """Add ``ships`` and the ``evaluate ships`` command to ``app``."""
    app.command("ships")(ships)
    _evaluate_group(app).command("ships")(evaluate_ships)


def _evaluate_group(app: typer.Typer) -> typer.Typer:
    """The shared ``evaluate`` group (created once; other domains add their commands to it)."""
    for group in app.registered_groups:
        if group.name == "evaluate" and group.typer_instance is not None:
            return group.typer_instance
    grp = typer.Typer(help="Score results against truth files.", no_args_is_help=True)
    app.add_typer(grp, name="evaluate")
    return grp


def ships(
    product: Path = typer.Argument(..., help="Sentinel-1 GRD SAFE (folder or .zip) or GeoTIFF."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (created)."),
    band: str | None = typer.Option(None, help="Polarisation; default HV, VH, HH, VV in order."),
    target_window: float = typer.Option(50.0, help="CFAR target window (m)."),
    guard_window: float = typer.Option(500.0, help="CFAR guard window (m)."),
    background_window: float = typer.Option(800.0, help="CFAR background window (m)."),
    pfa: float = typer.Option(12.5, help="False-alarm probability exponent (12.5 = 1e-12.5)."),
    min_size: float = typer.Option(30.0, help="Smallest target kept (SNAP size, m)."),
    max_size: float = typer.Option(600.0, help="Largest target kept (SNAP size, m)."),
    land_mask: str = typer.Option(
        "gshhg", help="'gshhg' (offline GSHHG), 'none', or a vector/raster file of land."
    ),
    shoreline_buffer: float = typer.Option(100.0, help="Grow the land mask by this many metres."),
    input_scale: str = typer.Option(
        "linear", help="GeoTIFF input: linear, db or amplitude (SAFE input is calibrated)."
    ),
    pixel_spacing: float | None = typer.Option(
        None, help="GeoTIFF input: pixel spacing in metres (default from a metric CRS)."
    ),
    denoise: bool = typer.Option(True, help="Remove thermal noise before calibration (SAFE)."),
    scheduler: str | None = typer.Option(
        None, help="dask.distributed scheduler address (default: local threads)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary for machines."),
) -> None:
    """Detect ships (SNAP two-parameter CFAR) and write GPKG, GeoJSON, KML, CSV, PNG, item.json."""
    import warnings

    from rus.chains.ship_detection import ShipDetectionParams, run_ship_detection

    mask: Any = land_mask if land_mask in ("gshhg", "none") else Path(land_mask)
    params = ShipDetectionParams.build(
        band=band,
        target_window_m=target_window,
        guard_window_m=guard_window,
        background_window_m=background_window,
        pfa=pfa,
        min_size_m=min_size,
        max_size_m=max_size,
        land_mask=mask,
        shoreline_buffer_m=shoreline_buffer,
        input_scale=input_scale,
        pixel_spacing_m=pixel_spacing,
        denoise=denoise,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # reported below from the run itself
        run = run_ship_detection(product, out, params, scheduler=scheduler)
    summary = run.summary()
    if as_json:
        echo_json(summary)
        return
    _print_run(run, summary)


def _print_run(run: Any, summary: dict[str, Any]) -> None:
    from rich.table import Table

    if summary["simulated"]:
        console.print("[bold yellow]SIMULATED INPUT[/] (written by rus simulate, not ESA data)")
    for w in summary["warnings"]:
        console.print(f"[yellow]warning:[/] {w}")
    table = Table(title=f"{summary['ships']} ships", show_lines=False)
    for col in ("id", "lon", "lat", "length_m", "width_m", "heading_deg", "peak_sigma0_db"):
        table.add_column(col, justify="right")
    for rec in run.ships.head(25).itertuples():
        table.add_row(
            str(rec.id),
            f"{rec.lon:.5f}",
            f"{rec.lat:.5f}",
            f"{rec.length_m:.0f}",
            f"{rec.width_m:.0f}",
            f"{rec.heading_deg:.0f}",
            f"{rec.peak_sigma0_db:.1f}",
        )
    console.print(table)
    if len(run.ships) > 25:
        console.print(f"... {len(run.ships) - 25} more in {summary['outputs']['ships_csv']}")
    console.print(
        f"outputs in {Path(summary['outputs']['item']).parent} "
        f"({summary['timings_s']['total_s']:.1f} s)"
    )


def evaluate_ships(
    truth: Path = typer.Option(..., "--truth", help="Truth points (GeoJSON/GPKG/CSV lon,lat)."),
    pred: Path = typer.Option(..., "--pred", help="Detections (ships.gpkg / .geojson / .csv)."),
    max_distance: float = typer.Option(200.0, help="Match gate in metres (xView3: 200)."),
    min_length: float | None = typer.Option(
        None, help="Count only truth ships at least this long (m)."
    ),
    shore_km: float = typer.Option(2.0, help="Radius (km) of the close-to-shore F1."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """Score detections against truth: Hungarian matching, precision/recall/F1, length score."""
    from rus.chains.ship_detection.evaluate import evaluate_files

    score = evaluate_files(
        truth, pred, max_distance_m=max_distance, min_length_m=min_length, shore_km=shore_km
    )
    if as_json:
        echo_json(score)
        return
    from rich.table import Table

    table = Table(show_header=False, box=None)
    for key, value in score.items():
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        table.add_row(f"[bold]{key}[/]", shown)
    console.print(table)
