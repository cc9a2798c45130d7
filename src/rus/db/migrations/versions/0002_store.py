"""Product store index (store_products, store_references).

Revision ID: 0002_store
Revises: 0001_base
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from rus.db.base import UTCDateTime

revision: str = "0002_store"
down_revision: str | Sequence[str] | None = "0001_base"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "store_products",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("rel_path", sa.String(512), nullable=False),
        sa.Column("collection", sa.String(64), nullable=False),
        sa.Column("product_type", sa.String(64), nullable=True),
        sa.Column("start", UTCDateTime(), nullable=True),
        sa.Column("end", UTCDateTime(), nullable=True),
        sa.Column("minx", sa.Float(), nullable=True),
        sa.Column("miny", sa.Float(), nullable=True),
        sa.Column("maxx", sa.Float(), nullable=True),
        sa.Column("maxy", sa.Float(), nullable=True),
        sa.Column("footprint", sa.Text(), nullable=True),
        sa.Column("cloud_cover", sa.Float(), nullable=True),
        sa.Column("orbit_direction", sa.String(16), nullable=True),
        sa.Column("relative_orbit", sa.Integer(), nullable=True),
        sa.Column("tile", sa.String(16), nullable=True),
        sa.Column("attributes", sa.Text(), nullable=False),
        sa.Column("stac_item", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("md5", sa.String(32), nullable=True),
        sa.Column("blake3", sa.String(64), nullable=True),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.Column("last_access", UTCDateTime(), nullable=False),
        sa.Column("verified_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_products")),
        sa.UniqueConstraint("name", name=op.f("uq_store_products_name")),
    )
    op.create_index("ix_store_products_collection_start", "store_products", ["collection", "start"])
    op.create_index("ix_store_products_start", "store_products", ["start"])
    op.create_index("ix_store_products_bbox", "store_products", ["minx", "maxx", "miny", "maxy"])
    op.create_index("ix_store_products_last_access", "store_products", ["last_access"])
    op.create_table(
        "store_references",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("product_id", sa.String(64), nullable=False),
        sa.Column("holder_kind", sa.String(16), nullable=False),
        sa.Column("holder_id", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["store_products.id"],
            name=op.f("fk_store_references_product_id_store_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_references")),
        sa.UniqueConstraint("product_id", "holder_kind", "holder_id", name="uq_store_reference"),
    )
    op.create_index("ix_store_references_product_id", "store_references", ["product_id"])


def downgrade() -> None:
    op.drop_index("ix_store_references_product_id", table_name="store_references")
    op.drop_table("store_references")
    for name in (
        "ix_store_products_last_access",
        "ix_store_products_bbox",
        "ix_store_products_start",
        "ix_store_products_collection_start",
    ):
        op.drop_index(name, table_name="store_products")
    op.drop_table("store_products")
