"""All models, imported so that ``Base.metadata`` knows every table (Alembic autogenerate).

Each domain adds its module here.
"""

import importlib

_MODULES: tuple[str, ...] = ("accounts", "requests", "store")


def load_all() -> None:
    """Import every model module (called by migrations and tests)."""
    for name in _MODULES:
        importlib.import_module(f"rus.db.models.{name}")
