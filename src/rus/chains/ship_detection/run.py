"""End-to-end ship detection: open -> detect -> write GPKG, GeoJSON, KML, CSV, PNG and STAC item."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rus.chains.ship_detection.core import Detection, detect_in_scene
from rus.chains.ship_detection.inputs import Scene, open_scene
from rus.chains.ship_detection.params import ShipDetectionParams
from rus.chains.ship_detection.quicklook import write_quicklook
from rus.toolbox.sar.attributes import SHIP_COLUMNS

#: Output file names inside the run directory.
OUTPUT_FILES = {
    "ships_gpkg": "ships.gpkg",
    "ships_geojson": "ships.geojson",
    "ships_kml": "ships.kml",
    "ships_csv": "ships.csv",
    "quicklook": "quicklook.png",
    "item": "item.json",
}


@dataclass
class ShipDetectionRun:
    """What :func:`run_ship_detection` produced.

    Attributes
    ----------
    ships
        The detected ships (GeoDataFrame, EPSG:4326).
    outputs
        Output name -> path (see :data:`OUTPUT_FILES`).
    item
        The STAC Item of the run.
    detection
        Detection details (windows, counts, warnings, timings).
    """

    ships: Any
    outputs: dict[str, Path]
    item: dict[str, Any]
    detection: Detection
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON-friendly summary (for ``rus ships --json``)."""
        d = self.detection
        return {
            "ships": len(self.ships),
            "flagged_pixels": d.flagged_pixels,
            "clusters": d.clusters,
            "removed_on_land": len(d.removed_on_land),
            "windows_px": {
                "target": d.windows.target,
                "guard": d.windows.guard,
                "background": d.windows.background,
            },
            "threshold_multiplier": d.threshold,
            "outputs": {k: str(v) for k, v in self.outputs.items()},
            "warnings": d.warnings,
            "timings_s": {k: round(v, 3) for k, v in self.timings.items()},
            "simulated": bool(self.item["properties"].get("rus:simulated")),
        }


def detect_ships(
    product: str | Path | Scene,
    params: ShipDetectionParams | None = None,
    *,
    scheduler: Any = None,
) -> Any:
    """Detect ships in a Sentinel-1 GRD product or GeoTIFF; return a GeoDataFrame (EPSG:4326).

    Parameters
    ----------
    product
        SAFE directory or zip, single-band GeoTIFF, or an opened :class:`Scene`.
    params
        Parameters (defaults: SNAP / RUS exercise).
    scheduler
        None (local threads), a :class:`distributed.Client` or a scheduler address.

    Returns
    -------
    geopandas.GeoDataFrame with one point per ship and the columns of :data:`SHIP_COLUMNS`.
    """
    p = params or ShipDetectionParams()
    scene = product if isinstance(product, Scene) else open_scene(product, p)
    return detect_in_scene(scene, p, scheduler=scheduler).ships


def _kml_name(rec: Mapping[str, Any]) -> str:
    return f"Ship {int(rec['id'])}: {rec['length_m']:.0f} m"


def _kml_description(rec: Mapping[str, Any]) -> str:
    return (
        f"Estimated length {rec['length_m']:.0f} m, width {rec['width_m']:.0f} m "
        f"(SNAP box {rec['length_snap_m']:.0f} x {rec['width_snap_m']:.0f} m); "
        f"heading {rec['heading_deg']:.0f} deg (or +180); peak {rec['peak_sigma0_db']:.1f} dB, "
        f"contrast {rec['contrast_db']:.1f} dB"
    )


def write_outputs(
    out_dir: Path, scene: Scene, detection: Detection, params: ShipDetectionParams
) -> tuple[dict[str, Path], dict[str, Any]]:
    """Write every output of a run into ``out_dir``; return (paths, STAC item)."""
    from rus.chains.outputs import Asset, run_item, write_kml, write_run_item, write_vector

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {k: out_dir / v for k, v in OUTPUT_FILES.items()}
    ships = detection.ships
    write_vector(ships, paths["ships_gpkg"], layer="ships")
    write_vector(ships, paths["ships_geojson"])
    # the CSV writer puts lon/lat first itself (from the geometry)
    write_vector(ships.drop(columns=["lon", "lat"]), paths["ships_csv"])
    sim = " (SIMULATED)" if scene.simulated else ""
    write_kml(
        ships,
        paths["ships_kml"],
        name=_kml_name,
        description=_kml_description,
        document_name=f"Ships in {scene.name}{sim}",
    )
    title = f"{len(ships)} ships detected ({scene.band})\n{scene.name}"
    write_quicklook(paths["quicklook"], detection, title=title, simulated=scene.simulated)
    fields = {k: f"{desc} [{unit}]" for k, (unit, desc) in SHIP_COLUMNS.items()}
    assets = {
        "ships_gpkg": Asset(
            "ships.gpkg",
            "application/geopackage+sqlite3",
            ("data",),
            "Ships (GeoPackage)",
            "point layer 'ships', EPSG:4326",
        ),
        "ships_geojson": Asset("ships.geojson", "application/geo+json", ("data",), "Ships"),
        "ships_kml": Asset(
            "ships.kml",
            "application/vnd.google-earth.kml+xml",
            ("data",),
            "Ships (KML)",
            "one placemark per ship, its length in the name",
        ),
        "ships_csv": Asset("ships.csv", "text/csv", ("data",), "Ships (CSV, lon/lat)"),
        "quicklook": Asset("quicklook.png", "image/png", ("overview",), "Quicklook"),
    }
    d = detection
    item = run_item(
        item_id=f"ships-{Path(scene.name).stem}",
        geometry=scene.footprint,
        datetime=scene.start_time,
        inputs=[scene.name],
        parameters=params.public(),
        assets=assets,
        properties={
            "rus:chain": "ship_detection",
            "rus:band": scene.band,
            "rus:input_kind": scene.kind,
            "rus:ships": len(ships),
            "rus:cfar_windows_px": [d.windows.target, d.windows.guard, d.windows.background],
            "rus:cfar_threshold_multiplier": d.threshold,
            "rus:pixel_spacing_m": list(scene.spacing),
            "rus:warnings": d.warnings,
            "rus:removed_on_land": d.removed_on_land,
            "rus:ship_fields": fields,
        },
        simulated=scene.simulated,
    )
    write_run_item(paths["item"], item)
    return paths, item


def run_ship_detection(
    product: str | Path,
    out_dir: str | Path,
    params: ShipDetectionParams | None = None,
    scheduler: Any = None,
) -> ShipDetectionRun:
    """Run the whole chain and write its outputs into ``out_dir``.

    Parameters
    ----------
    product
        Sentinel-1 GRD SAFE (directory or zip) or single-band GeoTIFF.
    out_dir
        Output directory (created): ``ships.gpkg`` (layer ``ships``), ``ships.geojson``,
        ``ships.kml``, ``ships.csv``, ``quicklook.png``, ``item.json``.
    params
        Parameters; defaults follow SNAP's graph and the RUS exercise.
    scheduler
        None (local threads on all cores), a :class:`distributed.Client` or an address.

    Returns
    -------
    ShipDetectionRun
    """
    p = params or ShipDetectionParams()
    t0 = time.perf_counter()
    scene = open_scene(product, p)
    t_open = time.perf_counter() - t0
    detection = detect_in_scene(scene, p, scheduler=scheduler)
    t1 = time.perf_counter()
    paths, item = write_outputs(Path(out_dir), scene, detection, p)
    timings = {
        "open_s": t_open,
        **detection.timings,
        "write_s": time.perf_counter() - t1,
        "total_s": time.perf_counter() - t0,
    }
    return ShipDetectionRun(detection.ships, paths, item, detection, timings)
