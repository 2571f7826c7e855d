"""listing descriptions rendered once when saved

Adds ``listing.description_html`` and ``listing_revision.description_html`` (issue 8, item 1:
pages show the stored HTML and never render user Markdown per request) and back-fills both by
rendering every existing description with the bounded renderer (``market.listings.markup``).

Revision ID: b8e1d2c4a6f0
Revises: 7d6765696bb2
Create Date: 2026-12-05 17:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b8e1d2c4a6f0'
down_revision = '7d6765696bb2'
branch_labels = None
depends_on = None


def upgrade():
    from market.listings.markup import render  # the renderer only: no model code

    with op.batch_alter_table('listing', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description_html', sa.Text(), nullable=False, server_default=''))
    with op.batch_alter_table('listing_revision', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description_html', sa.Text(), nullable=True))

    conn = op.get_bind()
    listing = sa.table('listing', sa.column('id', sa.Integer), sa.column('description', sa.Text),
                       sa.column('description_html', sa.Text))
    for row in conn.execute(sa.select(listing.c.id, listing.c.description)).all():
        conn.execute(listing.update().where(listing.c.id == row.id).values(description_html=render(row.description)))
    revision_t = sa.table('listing_revision', sa.column('id', sa.Integer), sa.column('data', sa.JSON),
                          sa.column('description_html', sa.Text))
    for row in conn.execute(sa.select(revision_t.c.id, revision_t.c.data)).all():
        data = row.data or {}
        conn.execute(revision_t.update().where(revision_t.c.id == row.id)
                     .values(description_html=render(data.get('description'))))

    with op.batch_alter_table('listing', schema=None) as batch_op:
        batch_op.alter_column('description_html', server_default=None)


def downgrade():
    with op.batch_alter_table('listing_revision', schema=None) as batch_op:
        batch_op.drop_column('description_html')
    with op.batch_alter_table('listing', schema=None) as batch_op:
        batch_op.drop_column('description_html')
