"""Settings read from the environment (prefix ``RUS_``) or a ``.env`` file.

``RUS_HOME`` is the data root (default ``./var``): the product store, demo products, outputs and
the SQLite database live under it unless overridden.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rus.errors import ConfigurationError

DEV_SECRET = "development-only-secret-change-me"


class Settings(BaseSettings):
    """All run-time settings of rus.

    Parameters are read from ``RUS_<NAME>`` environment variables, e.g. ``RUS_HOME=/data/rus``.
    """

    model_config = SettingsConfigDict(
        env_prefix="RUS_", env_file=".env", extra="ignore", validate_default=True
    )

    home: Path = Field(default=Path("./var"), description="Data root (store, demo, outputs, db).")
    environment: Literal["development", "production", "test"] = "development"
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default sqlite:///<home>/rus.db."
    )
    secret_key: str = Field(default=DEV_SECRET, description="Signs sessions and tokens.")
    dask_scheduler: str | None = Field(
        default=None, description="Address of a dask.distributed scheduler; None = local threads."
    )
    workers: int = Field(default=0, description="Local threads for processing; 0 = all cores.")

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment == "production" and self.secret_key == DEV_SECRET:
            raise ConfigurationError(
                "RUS_SECRET_KEY must be set to a private random value when "
                "RUS_ENVIRONMENT=production (the development default is refused)."
            )
        return self

    @cached_property
    def resolved_home(self) -> Path:
        """Absolute data root."""
        return self.home.expanduser().resolve()

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL, defaulting to SQLite under ``home``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_home / 'rus.db'}"

    @property
    def demo_dir(self) -> Path:
        """Where ``rus demo`` writes simulated products and chain outputs."""
        return self.resolved_home / "demo"


def get_settings() -> Settings:
    """Read settings from the environment now (never cached at import time)."""
    return Settings()
