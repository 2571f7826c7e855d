"""Admin-decided subsidy rewards (issue 10): art. 8 opener, art. 9 demonstration tiers, art. 13 data
projects. One live art8_opener decision per firm, one live decision per art. 9 declaration.

Revision ID: b7d2e4f6a8c1
Revises: e6a1c3b5d7f9
Create Date: 2026-12-05 20:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b7d2e4f6a8c1"
down_revision = "e6a1c3b5d7f9"
branch_labels = None
depends_on = None

# frozen copies of models/rewards.py (a migration does not import app code)
OPENER_LIVE_SQL = "rule = 'art8_opener' AND status = 'decided'"
DECLARATION_LIVE_SQL = "declaration_id IS NOT NULL AND status = 'decided'"


def upgrade():
    op.create_table(
        "reward_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=20), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("declaration_id", sa.Integer(), nullable=True),
        sa.Column("project_title", sa.String(length=200), nullable=True),
        sa.Column("tier", sa.String(length=20), nullable=True),
        sa.Column("amount_cny", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("parameter_version", sa.String(length=10), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.Column("revocation_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["declaration_id"], ["demo_declaration.id"],
                                name=op.f("fk_reward_decision_declaration_id_demo_declaration")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["user.id"], name=op.f("fk_reward_decision_decided_by_id_user")),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"],
                                name=op.f("fk_reward_decision_organisation_id_organisation")),
        sa.ForeignKeyConstraint(["revoked_by_id"], ["user.id"], name=op.f("fk_reward_decision_revoked_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reward_decision")),
    )
    with op.batch_alter_table("reward_decision") as batch:
        batch.create_index("ix_reward_decision_rule", ["rule"], unique=False)
        batch.create_index("ix_reward_decision_organisation_id", ["organisation_id"], unique=False)
        batch.create_index("ix_reward_decision_status", ["status"], unique=False)
        batch.create_index("ix_reward_decision_decided_on", ["decided_on"], unique=False)
        batch.create_index("uq_reward_decision_opener_once", ["organisation_id"], unique=True,
                           postgresql_where=sa.text(OPENER_LIVE_SQL), sqlite_where=sa.text(OPENER_LIVE_SQL))
        batch.create_index("uq_reward_decision_declaration", ["declaration_id"], unique=True,
                           postgresql_where=sa.text(DECLARATION_LIVE_SQL), sqlite_where=sa.text(DECLARATION_LIVE_SQL))


def downgrade():
    with op.batch_alter_table("reward_decision") as batch:
        batch.drop_index("uq_reward_decision_declaration")
        batch.drop_index("uq_reward_decision_opener_once")
        batch.drop_index("ix_reward_decision_decided_on")
        batch.drop_index("ix_reward_decision_status")
        batch.drop_index("ix_reward_decision_organisation_id")
        batch.drop_index("ix_reward_decision_rule")
    op.drop_table("reward_decision")
