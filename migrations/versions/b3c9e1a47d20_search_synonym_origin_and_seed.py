"""Search synonyms: origin, source, seed key and tombstones; the shipped lexicon seeded.

A fresh ``db upgrade`` now searches like the demo: the groups of market/search/data/lexicon.yaml
are inserted here (``market.search.seed.merge_shipped``, plain SQL Core, no models). Groups seeded
before (by ``demo``) are claimed by key, not duplicated. ``search seed-synonyms`` merges groups a
later lexicon adds, and never brings back a deleted one (its row stays as a tombstone).

Revision ID: b3c9e1a47d20
Revises: a3c9e51f0b27
Create Date: 2026-12-05 17:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = 'b3c9e1a47d20'
down_revision = 'a3c9e51f0b27'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('search_synonym', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin', sa.String(length=10), server_default='admin', nullable=False))
        batch_op.add_column(sa.Column('source', sa.String(length=200), server_default='', nullable=False))
        batch_op.add_column(sa.Column('seed_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_search_synonym_seed_key'), ['seed_key'])

    from market.search.seed import merge_shipped

    merge_shipped(op.get_bind())


def downgrade():
    bind = op.get_bind()
    # Tombstones and mined groups have no meaning without the new columns.
    bind.execute(sa.text("DELETE FROM search_synonym WHERE deleted_at IS NOT NULL OR origin = 'mined'"))
    with op.batch_alter_table('search_synonym', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_search_synonym_seed_key'), type_='unique')
        batch_op.drop_column('deleted_at')
        batch_op.drop_column('seed_key')
        batch_op.drop_column('source')
        batch_op.drop_column('origin')
