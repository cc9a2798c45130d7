"""Lazy readers (``open_*``) for Sentinel products and generic rasters, and product simulators.

- :func:`rus.products.sentinel1.open_s1_grd`: Sentinel-1 GRD SAFE (directory or ``.zip``).
- :func:`rus.products.sentinel2.open_s2`: Sentinel-2 L1C/L2A SAFE (directory or ``.zip``).
- :func:`rus.products.stac.open_stac_item`: a STAC Item whose assets are COGs.
- :func:`rus.products.geotiff.open_geotiff`: any GeoTIFF/COG with a band mapping.
- :func:`rus.products.info.open_product` / :func:`rus.products.info.describe_product`: detect
  the kind of product and describe it (``rus info``).
- :mod:`rus.products.simulate`: simulators that WRITE real-format products (labelled simulated).
"""

from rus.products.errors import ProductError

__all__ = ["ProductError"]
