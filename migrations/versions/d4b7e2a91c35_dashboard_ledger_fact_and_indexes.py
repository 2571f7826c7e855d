"""District views and dashboards (issue 13): ``ledger_fact`` (narrow reporting rows of the ledger
with completeness bits) and ``ledger_year_total`` (their sums per year and kind), both back-filled
from the ledger; indexes for sorts, month buckets and the work queues.

Revision ID: d4b7e2a91c35
Revises: c4d8e2f1a9b3
Create Date: 2026-12-05 19:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "d4b7e2a91c35"
down_revision = "c4d8e2f1a9b3"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_ledger_entry_amount_cny", "ledger_entry", ["amount_cny"]),
    ("ix_listing_published_at", "listing", ["published_at"]),
    ("ix_organisation_created_at", "organisation", ["created_at"]),
    ("ix_organisation_verified_at", "organisation", ["verified_at"]),
    ("ix_contract_created_at", "contract", ["created_at"]),
    ("ix_bid_submitted_at", "bid", ["submitted_at"]),
    ("ix_booking_start_at", "booking", ["start_at"]),
    ("ix_booking_created_at", "booking", ["created_at"]),
    ("ix_data_application_created_at", "data_application", ["created_at"]),
)

FACT_INDEXES = (
    ("ix_ledger_fact_year_kind", ["year", "kind"],
     {"postgresql_include": ["amount_cny", "reasons", "track", "payer_id", "payee_id"]}),
    ("ix_ledger_fact_month", ["month"], {"postgresql_include": ["amount_cny", "reasons"]}),
    ("ix_ledger_fact_track_year", ["track", "year"], {}),
    ("ix_ledger_fact_paid_at", ["paid_at"], {}),
    ("ix_ledger_fact_amount", ["amount_cny"], {}),
    ("ix_ledger_fact_payer", ["payer_id"], {}),
    ("ix_ledger_fact_payee", ["payee_id"], {}),
    ("ix_ledger_fact_listing", ["listing_id"], {}),
    ("ix_ledger_fact_reasons", ["reasons"], {}),
    ("ix_ledger_fact_disputed", ["seq"], {"postgresql_where": sa.text("disputed"), "sqlite_where": sa.text("disputed")}),
)
UNCONFIRMED_SQL = "payer_confirmed_at IS NULL OR payee_confirmed_at IS NULL"
OPEN_DISPUTE_SQL = "disputed_at IS NOT NULL AND dispute_resolved_at IS NULL"
PARTIAL = (
    ("ix_ledger_entry_unconfirmed", ["recorded_at"], UNCONFIRMED_SQL),
    ("ix_ledger_entry_open_dispute", ["disputed_at"], OPEN_DISPUTE_SQL),
)


def upgrade():
    for name, table, cols in INDEXES:
        op.create_index(name, table, cols)
    op.create_table(
        "ledger_fact",
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=True),
        sa.Column("track", sa.String(length=40), nullable=True),
        sa.Column("payer_id", sa.Integer(), nullable=False),
        sa.Column("payee_id", sa.Integer(), nullable=False),
        sa.Column("amount_cny", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("reasons", sa.Integer(), nullable=False),
        sa.Column("disputed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["ledger_entry.id"], name=op.f("fk_ledger_fact_entry_id_ledger_entry"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_ledger_fact")),
        sa.UniqueConstraint("seq", name=op.f("uq_ledger_fact_seq")),
    )
    for name, cols, kw in FACT_INDEXES:
        op.create_index(name, "ledger_fact", cols, **kw)
    for name, cols, where in PARTIAL:
        op.create_index(name, "ledger_entry", cols, postgresql_where=sa.text(where), sqlite_where=sa.text(where))
    op.create_table(
        "ledger_year_total",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("counted", sa.Boolean(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("amount_cny", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.PrimaryKeyConstraint("year", "kind", "counted", name=op.f("pk_ledger_year_total")),
    )
    from market.dashboard import facts  # the same INSERT ... SELECT as `flask dashboard rebuild-facts`

    facts.rebuild(op.get_bind())


def downgrade():
    op.drop_table("ledger_year_total")
    for name, _cols, _where in reversed(PARTIAL):
        op.drop_index(name, table_name="ledger_entry")
    for name, _cols, _kw in reversed(FACT_INDEXES):
        op.drop_index(name, table_name="ledger_fact")
    op.drop_table("ledger_fact")
    for name, table, _cols in reversed(INDEXES):
        op.drop_index(name, table_name=table)
