"""rus: Research and User Support platform for Copernicus Sentinel data.

Layers, each importing only those below it::

    products -> toolbox -> chains -> hub / compute / workspaces -> services + db -> portal, cli

Nothing is built at import time: importing :mod:`rus` is cheap.
"""

from rus.errors import RusError

__version__ = "0.1.0"
__all__ = ["RusError", "__version__"]
