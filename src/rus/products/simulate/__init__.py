"""Simulators that write products in the real formats (every product says it is simulated).

- :func:`rus.products.simulate.s1.simulate_s1_grd`: Sentinel-1 IW GRDH SAFE with ships.
- :func:`rus.products.simulate.s2.simulate_s2_fire`: a pre/post-fire Sentinel-2 L2A (or L1C) SAFE
  pair.
"""
