"""outbox: one table for every side effect after commit (mail, search index, saved-search alerts)

Replaces ``search_outbox``: its pending rows become ``search.index`` rows of the new table (processed
ones are history and are dropped). The downgrade moves pending ``search.index`` rows back; pending
mail and alerts cannot be represented in the old schema and are dropped with the table.

Revision ID: c4d8e2f1a9b3
Revises: f814358fa85b
Create Date: 2026-12-05 18:10:00

"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c4d8e2f1a9b3'
down_revision = 'f814358fa85b'
branch_labels = None
depends_on = None

_old = sa.table(
    'search_outbox',
    sa.column('id', sa.Integer()),
    sa.column('listing_id', sa.Integer()),
    sa.column('op', sa.String(10)),
    sa.column('created_at', sa.DateTime(timezone=True)),
    sa.column('processed_at', sa.DateTime(timezone=True)),
)


def _new_table():
    return sa.table(
        'outbox',
        sa.column('id', sa.Integer()),
        sa.column('topic', sa.String(40)),
        sa.column('payload', sa.JSON()),
        sa.column('status', sa.String(10)),
        sa.column('created_at', sa.DateTime(timezone=True)),
        sa.column('available_at', sa.DateTime(timezone=True)),
        sa.column('attempts', sa.Integer()),
        sa.column('delivered_at', sa.DateTime(timezone=True)),
        sa.column('last_error', sa.Text()),
    )


def upgrade():
    outbox = op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('topic', sa.String(length=40), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('available_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_due', ['status', 'available_at'], unique=False)

    conn = op.get_bind()
    now = dt.datetime.now(dt.UTC)
    pending = conn.execute(
        sa.select(_old.c.listing_id, _old.c.op, _old.c.created_at).where(_old.c.processed_at.is_(None)).order_by(_old.c.id)
    ).all()
    if pending:
        op.bulk_insert(outbox, [
            dict(topic='search.index', payload={'listing_id': row.listing_id, 'op': row.op}, status='pending',
                 created_at=row.created_at or now, available_at=now, attempts=0)
            for row in pending
        ])

    with op.batch_alter_table('search_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_search_outbox_processed_at'))
        batch_op.drop_index(batch_op.f('ix_search_outbox_listing_id'))
    op.drop_table('search_outbox')


def downgrade():
    old = op.create_table('search_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('op', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_outbox'))
    )
    with op.batch_alter_table('search_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_search_outbox_listing_id'), ['listing_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_search_outbox_processed_at'), ['processed_at'], unique=False)

    new = _new_table()
    conn = op.get_bind()
    pending = conn.execute(
        sa.select(new.c.payload, new.c.created_at)
        .where(new.c.topic == 'search.index', new.c.status == 'pending').order_by(new.c.id)
    ).all()
    if pending:
        op.bulk_insert(old, [
            dict(listing_id=int(row.payload['listing_id']), op=row.payload.get('op', 'upsert'), created_at=row.created_at)
            for row in pending
        ])

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_due')
    op.drop_table('outbox')
