"""Listing vectors: each published listing's sentence embedding, cached (``models.search.ListingVector``).

An empty table: the scheduler's ``search.embed`` job (or ``flask --app market search embed``) fills it after the
upgrade; until a listing has its vector, the first page of a long request keeps the ranker's order.

Revision ID: b3e5d7f9a1c2
Revises: f2b6d8a4c1e3
Create Date: 2026-12-07 10:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b3e5d7f9a1c2"
down_revision = "f2b6d8a4c1e3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "listing_vector",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["listing_id"], ["listing.id"], name=op.f("fk_listing_vector_listing_id_listing"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listing_vector")),
        sa.UniqueConstraint("listing_id", name=op.f("uq_listing_vector_listing_id")),
        sqlite_autoincrement=True,  # ids are never reused: the newest id says which vectors a process has read
    )


def downgrade() -> None:
    op.drop_table("listing_vector")
