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
    cdse_catalogue_url: str = Field(
        default="https://catalogue.dataspace.copernicus.eu/odata/v1",
        description="CDSE OData catalogue root (or a `rus hub serve` URL + /odata/v1).",
    )
    cdse_stac_url: str = Field(
        default="https://stac.dataspace.copernicus.eu/v1", description="CDSE STAC API root."
    )
    cdse_token_url: str = Field(
        default="https://identity.dataspace.copernicus.eu/auth/realms/CDSE/protocol/"
        "openid-connect/token",
        description="Keycloak token endpoint of CDSE.",
    )
    store_max_bytes: int | None = Field(
        default=None, description="Product store size cap in bytes (LRU eviction); None = none."
    )
    hub_url: str = Field(
        default="http://127.0.0.1:8081", description="The local hub server (rus hub serve)."
    )
    download_parallel: int = Field(default=4, description="Parallel downloads (CDSE quota 4).")
    # --- portal (issue 6) ---
    base_url: str = Field(default="http://127.0.0.1:8000", description="Public portal URL.")
    smtp_host: str | None = Field(default=None, description="SMTP relay; None = dev mail sink.")
    smtp_port: int = Field(default=25, description="SMTP relay port.")
    smtp_sender: str = Field(default="rus@localhost", description="From address of portal mail.")
    smtp_starttls: bool = Field(default=False, description="Use STARTTLS with the relay.")
    smtp_username: str | None = Field(default=None, description="SMTP login (optional).")
    smtp_password: str | None = Field(default=None, description="SMTP password (optional).")
    session_max_age_s: int = Field(default=14 * 86400, description="Portal session lifetime.")
    verify_token_ttl_s: int = Field(default=48 * 3600, description="Email link lifetime.")
    login_max_failures: int = Field(default=5, description="Failed logins before a lockout.")
    login_window_s: int = Field(default=900, description="Window (s) of the login rate limit.")
    upload_max_bytes: int = Field(default=1_000_000, description="Largest accepted upload.")
    capacity_cores: int = Field(default=512, description="Platform cores (desk totals).")
    capacity_ram_gb: int = Field(default=4096, description="Platform RAM in GB (desk totals).")
    capacity_disk_tb: float = Field(default=500.0, description="Platform disk in TB (desk).")
    portal_threads: int = Field(
        default=8, ge=1, description="Threads per portal process for blocking request work."
    )

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
