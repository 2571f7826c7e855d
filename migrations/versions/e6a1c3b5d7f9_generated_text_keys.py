"""Generated text in the reader's language (issue 13): notifications and contracts keep the
untranslated message key and its parameters besides the stored text.

Revision ID: e6a1c3b5d7f9
Revises: e6a1c3f9b210
Create Date: 2026-12-05 19:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = "e6a1c3b5d7f9"
down_revision = "e6a1c3f9b210"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("notification") as batch:
        batch.add_column(sa.Column("title_key", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("body_key", sa.Text(), nullable=True))
        batch.add_column(sa.Column("params", sa.JSON(), nullable=True))
    with op.batch_alter_table("contract") as batch:
        batch.add_column(sa.Column("title_key", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("title_params", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("contract") as batch:
        batch.drop_column("title_params")
        batch.drop_column("title_key")
    with op.batch_alter_table("notification") as batch:
        batch.drop_column("params")
        batch.drop_column("body_key")
        batch.drop_column("title_key")
