"""End-to-end recipes: typed parameters -> open -> process -> write outputs + STAC item.

- :mod:`rus.chains.ship_detection`: Sentinel-1 ship detection (SNAP-equivalent CFAR).
- :mod:`rus.chains.burned_area`: Sentinel-2 burned area and burn severity.
- :mod:`rus.chains.outputs`: vector/KML writers and the STAC Item of a run.
"""

from rus.chains.errors import ChainError

__all__ = ["ChainError"]
