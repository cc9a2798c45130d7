"""Product store index: one row per stored product, plus who references it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from rus.db.base import Base, UTCDateTime, utcnow


class StoredProduct(Base):
    """A product file held once in the shared store (``RUS_HOME/store``).

    The footprint is kept as GeoJSON text plus its lon/lat bounding box (indexed columns) so an
    AOI query is a cheap range scan followed by an exact shapely test on few candidates.
    """

    __tablename__ = "store_products"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    file_name: Mapped[str] = mapped_column(String(255))
    rel_path: Mapped[str] = mapped_column(String(512))
    collection: Mapped[str] = mapped_column(String(64))
    product_type: Mapped[str | None] = mapped_column(String(64))
    start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    minx: Mapped[float | None] = mapped_column(Float)
    miny: Mapped[float | None] = mapped_column(Float)
    maxx: Mapped[float | None] = mapped_column(Float)
    maxy: Mapped[float | None] = mapped_column(Float)
    footprint: Mapped[str | None] = mapped_column(Text)
    cloud_cover: Mapped[float | None] = mapped_column(Float)
    orbit_direction: Mapped[str | None] = mapped_column(String(16))
    relative_orbit: Mapped[int | None] = mapped_column(Integer)
    tile: Mapped[str | None] = mapped_column(String(16))
    attributes: Mapped[str] = mapped_column(Text, default="{}")
    stac_item: Mapped[str] = mapped_column(Text, default="{}")
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    md5: Mapped[str | None] = mapped_column(String(32))
    blake3: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(255), default="")
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="ok")
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_access: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_store_products_collection_start", "collection", "start"),
        Index("ix_store_products_start", "start"),
        Index("ix_store_products_bbox", "minx", "maxx", "miny", "maxy"),
        Index("ix_store_products_last_access", "last_access"),
    )


class StoreReference(Base):
    """One holder (user, workspace or job) keeping a stored product from eviction."""

    __tablename__ = "store_references"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    product_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("store_products.id", ondelete="CASCADE"), index=True
    )
    holder_kind: Mapped[str] = mapped_column(String(16))
    holder_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("product_id", "holder_kind", "holder_id", name="uq_store_reference"),
    )
