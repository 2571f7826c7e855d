"""organisation facts as dated history

The facts subsidy eligibility depends on (kind, size, in district, verified, related-party group) become
valid-from / valid-to periods, written from now on by every change (models/organisations.py). Back-fill
from what the database knows: each organisation's current facts from its registration, split at
``verified_at`` for a verified organisation (unverified before, verified after). Earlier sizes and
groups were not recorded as dates, so the back-filled period carries today's values; payments are
judged on them until the organisation's next change.

Revision ID: a3f1c2d4e5b6
Revises: b8e1d2c4a6f0
Create Date: 2026-12-05 17:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a3f1c2d4e5b6'
down_revision = 'b8e1d2c4a6f0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('organisation_facts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('size', sa.String(length=10), nullable=True),
    sa.Column('in_district', sa.Boolean(), nullable=False),
    sa.Column('verified', sa.Boolean(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['group_id'], ['related_party_group.id'], name=op.f('fk_organisation_facts_group_id_related_party_group')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_organisation_facts_organisation_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisation_facts'))
    )
    with op.batch_alter_table('organisation_facts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organisation_facts_organisation_id'), ['organisation_id'], unique=False)

    columns = "organisation_id, valid_from, valid_to, kind, size, in_district, verified, group_id"
    # verified organisations: unverified from registration until verified_at (when it came later) ...
    op.execute(
        f"INSERT INTO organisation_facts ({columns}) "
        "SELECT id, created_at, verified_at, kind, size, in_district, false, group_id FROM organisation "
        "WHERE verification_status = 'verified' AND verified_at IS NOT NULL AND verified_at > created_at"
    )
    # ... then verified; everyone else: their current facts since registration
    op.execute(
        f"INSERT INTO organisation_facts ({columns}) "
        "SELECT id, CASE WHEN verification_status = 'verified' AND verified_at IS NOT NULL AND verified_at > created_at "
        "THEN verified_at ELSE created_at END, NULL, kind, size, in_district, "
        "verification_status = 'verified', group_id FROM organisation"
    )


def downgrade():
    with op.batch_alter_table('organisation_facts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organisation_facts_organisation_id'))
    op.drop_table('organisation_facts')
