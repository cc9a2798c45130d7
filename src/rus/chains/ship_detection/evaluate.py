"""Score detection files against truth files (``rus evaluate ships``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rus.chains.errors import ChainError
from rus.toolbox.errors import ToolboxError
from rus.toolbox.scoring import score_ships


def read_points(path: Path) -> Any:
    """Read a point layer: GeoPackage (layer ``ships`` if present), GeoJSON, or CSV (lon, lat).

    Returns
    -------
    geopandas.GeoDataFrame in EPSG:4326.
    """
    import geopandas as gpd
    import pandas as _pd  # type: ignore[import-untyped]

    pd: Any = _pd

    path = Path(path)
    if not path.exists():
        raise ChainError(f"{path} does not exist")
    try:
        if path.suffix.lower() == ".csv":
            df = pd.read_csv(path)
            if not {"lon", "lat"} <= set(df.columns):
                raise ChainError(f"{path}: a CSV needs 'lon' and 'lat' columns")
            return gpd.GeoDataFrame(
                df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs="EPSG:4326"
            )
        layer = None
        if path.suffix.lower() == ".gpkg":
            import pyogrio

            names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
            layer = "ships" if "ships" in names else names[0]
        gdf = gpd.read_file(path, layer=layer) if layer else gpd.read_file(path)
    except ChainError:
        raise
    except Exception as exc:
        raise ChainError(f"cannot read points from {path}: {exc}") from exc
    if gdf.crs is None:
        gdf = gdf.set_crs(4326)
    return gdf.to_crs(4326)


def evaluate_files(
    truth: Path,
    pred: Path,
    *,
    max_distance_m: float = 200.0,
    min_length_m: float | None = None,
    shore_km: float | None = 2.0,
) -> dict[str, Any]:
    """xView3 scores of a detection file against a truth file, as a JSON-friendly dict."""
    t = read_points(truth)
    p = read_points(pred)
    try:
        score = score_ships(
            t, p, max_distance_m=max_distance_m, min_length_m=min_length_m, shore_km=shore_km
        )
    except ToolboxError as exc:
        raise ChainError(str(exc)) from exc
    out = score.as_dict()
    out.update({"truth": str(truth), "pred": str(pred), "max_distance_m": max_distance_m})
    if min_length_m is not None:
        out["min_length_m"] = min_length_m
    return out
