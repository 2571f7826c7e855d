"""A partial index of the ledger entries that carry a declared other subsidy (issue 10).

The subsidy engine reads a year's declarations on every full-year computation; they are few, and
without this index SQLite walked the whole year through the paid_at index to find them (2.4 s of
a 1M-entry year). The condition is written as in ``models.ledger.DECLARED_SQL``, and the engine's
query uses the same literal text, so both databases' planners match the index.

Revision ID: b3e8d1f4a6c2
Revises: a8c2e5f7b913
"""

import sqlalchemy as sa
from alembic import op

revision = "b3e8d1f4a6c2"
down_revision = "a8c2e5f7b913"
branch_labels = None
depends_on = None

DECLARED_SQL = "subsidies_json <> '[]'"


def upgrade() -> None:
    op.create_index("ix_ledger_entry_declared", "ledger_entry", ["paid_at"],
                    postgresql_where=sa.text(DECLARED_SQL), sqlite_where=sa.text(DECLARED_SQL))


def downgrade() -> None:
    op.drop_index("ix_ledger_entry_declared", table_name="ledger_entry")
