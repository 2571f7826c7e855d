"""external_subsidy.declared_in: a declaration filed with a subsidy claim belongs to the claim

An ``orgs import`` replaces an organisation's declared other subsidies with the file's; declarations
filed with a claim (issue 10) must survive an import that does not list them. Existing rows all came
from imports (or the demo), so they are marked "import".

Revision ID: c9d4e1f2a3b5
Revises: a7c3e9d1b5f2
Create Date: 2026-12-05 21:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "c9d4e1f2a3b5"
down_revision = "a7c3e9d1b5f2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("external_subsidy") as batch:
        batch.add_column(sa.Column("declared_in", sa.String(length=20), server_default="import", nullable=False))
    # claims filed before this revision recorded their rows' ids in their declaration
    conn = op.get_bind()
    claim = sa.table("subsidy_claim", sa.column("declaration", sa.JSON))
    ids = [i for (d,) in conn.execute(sa.select(claim.c.declaration)) for i in (d or {}).get("external_subsidy_ids", [])]
    if ids:
        subsidy = sa.table("external_subsidy", sa.column("id", sa.Integer), sa.column("declared_in", sa.String))
        conn.execute(sa.update(subsidy).where(subsidy.c.id.in_(ids)).values(declared_in="claim"))


def downgrade():
    with op.batch_alter_table("external_subsidy") as batch:
        batch.drop_column("declared_in")
