"""Sentinel-1 ship detection: SNAP-equivalent two-parameter CFAR over a full scene in seconds.

Usable from a notebook::

    from rus.chains.ship_detection import ShipDetectionParams, detect_ships, run_ship_detection

    ships = detect_ships("S1A_IW_GRDH_....SAFE")            # GeoDataFrame, EPSG:4326
    run = run_ship_detection("S1A_....zip", "out/", ShipDetectionParams(pfa=10))

See ``docs/ship-detection.md`` for the method, the attribute table and the length correction.
"""

from rus.chains.ship_detection.core import Detection, ShipDetectionWarning, detect_in_scene
from rus.chains.ship_detection.inputs import Scene, open_scene
from rus.chains.ship_detection.params import ShipDetectionParams
from rus.chains.ship_detection.run import ShipDetectionRun, detect_ships, run_ship_detection

__all__ = [
    "Detection",
    "Scene",
    "ShipDetectionParams",
    "ShipDetectionRun",
    "ShipDetectionWarning",
    "detect_in_scene",
    "detect_ships",
    "open_scene",
    "run_ship_detection",
]
