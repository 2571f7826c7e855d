"""subsidy claims (issue 10): claims, public notices (公示), objections, award lists, award payments

One live claim per (organisation, year, rule): a partial unique index over the claims that are neither
rejected nor withdrawn, so re-filing after a rejection is allowed.

Revision ID: a7c3e9d1b5f2
Revises: b7d2e4f6a8c1
Create Date: 2026-12-05 20:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a7c3e9d1b5f2'
down_revision = 'b7d2e4f6a8c1'
branch_labels = None
depends_on = None

LIVE = "status NOT IN ('rejected', 'withdrawn')"  # frozen: models.claims._LIVE


def _ts(name, nullable):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade():
    op.create_table('public_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    _ts('starts_at', False),
    _ts('ends_at', False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('opened_by_id', sa.Integer(), nullable=True),
    _ts('closed_at', True),
    sa.ForeignKeyConstraint(['opened_by_id'], ['user.id'], name=op.f('fk_public_notice_opened_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_public_notice')),
    )
    with op.batch_alter_table('public_notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_public_notice_year'), ['year'], unique=False)
        batch_op.create_index(batch_op.f('ix_public_notice_ends_at'), ['ends_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_public_notice_status'), ['status'], unique=False)

    op.create_table('award_list',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('finalised_by_id', sa.Integer(), nullable=True),
    _ts('finalised_at', False),
    sa.ForeignKeyConstraint(['finalised_by_id'], ['user.id'], name=op.f('fk_award_list_finalised_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_award_list')),
    )
    with op.batch_alter_table('award_list', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_award_list_year'), ['year'], unique=False)

    op.create_table('subsidy_claim',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('computed_cny', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('approved_cny', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('declaration', sa.JSON(), nullable=False),
    sa.Column('filed_by_id', sa.Integer(), nullable=True),
    _ts('filed_at', False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    _ts('decided_at', True),
    sa.Column('notice_id', sa.Integer(), nullable=True),
    sa.Column('award_list_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_subsidy_claim_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['filed_by_id'], ['user.id'], name=op.f('fk_subsidy_claim_filed_by_id_user')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_subsidy_claim_decided_by_id_user')),
    sa.ForeignKeyConstraint(['notice_id'], ['public_notice.id'], name=op.f('fk_subsidy_claim_notice_id_public_notice')),
    sa.ForeignKeyConstraint(['award_list_id'], ['award_list.id'], name=op.f('fk_subsidy_claim_award_list_id_award_list')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_claim')),
    )
    with op.batch_alter_table('subsidy_claim', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subsidy_claim_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subsidy_claim_year'), ['year'], unique=False)
        batch_op.create_index(batch_op.f('ix_subsidy_claim_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_subsidy_claim_notice_id'), ['notice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subsidy_claim_award_list_id'), ['award_list_id'], unique=False)
    op.create_index('uq_subsidy_claim_live', 'subsidy_claim', ['organisation_id', 'year', 'rule'], unique=True,
                    postgresql_where=sa.text(LIVE), sqlite_where=sa.text(LIVE))

    op.create_table('claim_objection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('filed_by_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    _ts('filed_at', False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    _ts('resolved_at', True),
    sa.ForeignKeyConstraint(['notice_id'], ['public_notice.id'], name=op.f('fk_claim_objection_notice_id_public_notice')),
    sa.ForeignKeyConstraint(['claim_id'], ['subsidy_claim.id'], name=op.f('fk_claim_objection_claim_id_subsidy_claim')),
    sa.ForeignKeyConstraint(['filed_by_id'], ['user.id'], name=op.f('fk_claim_objection_filed_by_id_user')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['user.id'], name=op.f('fk_claim_objection_resolved_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim_objection')),
    )
    with op.batch_alter_table('claim_objection', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_objection_notice_id'), ['notice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_claim_objection_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_claim_objection_status'), ['status'], unique=False)

    op.create_table('award_payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('amount_cny', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    _ts('recorded_at', False),
    sa.ForeignKeyConstraint(['claim_id'], ['subsidy_claim.id'], name=op.f('fk_award_payment_claim_id_subsidy_claim')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_award_payment_recorded_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_award_payment')),
    )
    with op.batch_alter_table('award_payment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_award_payment_claim_id'), ['claim_id'], unique=False)


def downgrade():
    op.drop_table('award_payment')
    op.drop_table('claim_objection')
    op.drop_index('uq_subsidy_claim_live', table_name='subsidy_claim')
    op.drop_table('subsidy_claim')
    op.drop_table('award_list')
    op.drop_table('public_notice')
