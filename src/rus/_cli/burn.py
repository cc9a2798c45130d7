"""``rus burn PRE POST --out DIR``: burned area and burn severity from a pre/post-fire pair."""

from __future__ import annotations

import warnings
from pathlib import Path

import typer

from rus._cli.common import console, echo_json


def register(app: typer.Typer) -> None:
    """Add ``rus burn`` to ``app``."""
    app.command("burn")(burn)


def _int_list(text: str | None, what: str) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(v) for v in text.replace(" ", "").split(",") if v != "")
    except ValueError:
        raise typer.BadParameter(
            f"{what}: expected comma-separated integers, got {text!r}"
        ) from None


def _band_map(items: list[str]) -> dict[str, int] | None:
    if not items:
        return None
    out: dict[str, int] = {}
    for item in items:
        name, _, idx = item.partition("=")
        try:
            out[name.strip()] = int(idx)
        except ValueError:
            raise typer.BadParameter(
                f"--band expects NAME=INDEX (e.g. nir=4), got {item!r}"
            ) from None
    return out


def burn(
    pre: str = typer.Argument(
        ..., help="Pre-fire product: S2 SAFE dir/zip, STAC Item, Landsat *_MTL.txt, GeoTIFF."
    ),
    post: str = typer.Argument(..., help="Post-fire product (same kinds)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (created)."),
    index: str = typer.Option("rbr", help="Index the USGS classes apply to: rbr or dnbr."),
    nir_band: str = typer.Option(
        "B8A", "--nir-band", help="Sentinel-2 NIR: B8A (20 m, default) or B08 (10 m output)."
    ),
    nir: str | None = typer.Option(None, help="NIR band name for other inputs (Landsat: B5)."),
    swir2: str | None = typer.Option(None, help="SWIR-2 band name for other inputs (Landsat: B7)."),
    band: list[str] = typer.Option(
        [], "--band", help="GeoTIFF inputs: NAME=INDEX, e.g. --band nir=4 --band swir2=6."
    ),
    scale: float | None = typer.Option(None, help="GeoTIFF inputs: reflectance = DN*scale+offset."),
    offset: float | None = typer.Option(None, help="GeoTIFF inputs: reflectance offset."),
    nodata: float | None = typer.Option(None, help="GeoTIFF inputs: no-data DN."),
    mmu: float = typer.Option(1.0, "--mmu", help="Minimum mapping unit in hectares (0: keep all)."),
    mask_classes: str | None = typer.Option(
        None, help="SCL classes masked on either date (default 0,1,3,8,9,10,11)."
    ),
    water_classes: str | None = typer.Option(
        None, help="SCL classes masked from the pre-fire date only (default 6)."
    ),
    no_scl: bool = typer.Option(False, "--no-scl", help="Same as --cloud-mask none."),
    cloud_mask: str = typer.Option(
        "auto",
        "--cloud-mask",
        help="auto (SCL of L2A, s2cloudless for L1C if installed), scl, s2cloudless "
        "(L1C dates; needs pip install 'rus\\[cloudmask]') or none.",
    ),
    cloud_probability: float = typer.Option(
        0.4, "--cloud-probability", help="s2cloudless probability threshold."
    ),
    connectivity: int = typer.Option(8, help="Patch connectivity: 4 or 8."),
    index_overviews: bool = typer.Option(
        False, "--index-overviews", help="Also build overviews in dnbr/rbr/rdnbr.tif (slower)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the statistics as JSON."),
) -> None:
    """Map burned area and burn severity (dNBR, RdNBR, RBR, USGS classes) into DIR.

    Writes dnbr.tif, rbr.tif, rdnbr.tif, severity.tif (styled for QGIS), burned.gpkg,
    burned.kml, stats.json, quicklook.png and item.json.
    """
    from pydantic import ValidationError

    from rus._cli.common import progress
    from rus.chains.burned_area import BurnParams, BurnWarning, open_input, run_burned_area
    from rus.chains.burned_area.run import STEPS
    from rus.chains.errors import ChainError

    kwargs: dict[str, object] = {
        "index": index,
        "nir_band": nir_band,
        "nir": nir,
        "swir2": swir2,
        "use_scl": not no_scl,
        "cloud_mask": cloud_mask,
        "cloud_probability": cloud_probability,
        "min_mapping_unit_ha": mmu,
        "connectivity": connectivity,
        "index_overviews": index_overviews,
    }
    for key, text in (("mask_classes", mask_classes), ("water_classes", water_classes)):
        parsed = _int_list(text, f"--{key.replace('_', '-')}")
        if parsed is not None:
            kwargs[key] = parsed
    try:
        params = BurnParams(**kwargs)  # type: ignore[arg-type]
    except ValidationError as exc:
        msgs = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ChainError(f"rus burn: invalid option: {msgs}") from None
    bands = _band_map(band)
    opened = [
        open_input(p, bands=bands, scale=scale, offset=offset, nodata=nodata) for p in (pre, post)
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", BurnWarning)
        if as_json:
            run = run_burned_area(opened[0], opened[1], out, params)
        else:
            with progress("burned area", total=len(STEPS)) as bar:
                task = bar.task_ids[0]

                def step(name: str) -> None:
                    done = STEPS.index(name) if name in STEPS else 0
                    bar.update(task, description=name, completed=done)

                run = run_burned_area(opened[0], opened[1], out, params, progress=step)
                bar.update(task, description="done", completed=len(STEPS))
    if as_json:
        echo_json(
            {"out_dir": str(out), **run.stats, "files": sorted(p.name for p in run.files.values())}
        )
        return
    for w in caught:
        if issubclass(w.category, BurnWarning):
            console.print(f"[bold yellow]warning:[/] {w.message}", highlight=False)
    s = run.stats
    if s["simulated"]:
        console.print("[bold yellow]SIMULATED inputs[/]: the map is a test, not an observation")
    console.print(
        f"burned area (low severity and above): [bold]{s['burned_ha']:,.1f} ha[/]; "
        f"masked {100 * s['masked_fraction']:.1f}% of {s['total_pixels']:,} px"
    )
    for code in ("4", "5", "6", "7"):
        c = s["classes"][code]
        console.print(f"  {c['name']:<24} {c['hectares']:>12,.1f} ha")
    console.print(f"outputs in {out}: " + ", ".join(sorted(p.name for p in run.files.values())))
