"""user.email_confirmed_at: a self-registered organisation admin confirms the e-mail before logging in

Registration no longer says whether an e-mail already has an account (issue 8): the first user of
a registered organisation is created unconfirmed and mailed a link; existing accounts count as
confirmed since they were created.

Revision ID: e6a1c3f9b210
Revises: d4b7e2a91c35
Create Date: 2026-12-05 19:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e6a1c3f9b210'
down_revision = 'd4b7e2a91c35'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_confirmed_at', sa.DateTime(timezone=True), nullable=True))
    op.execute('UPDATE "user" SET email_confirmed_at = created_at')


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('email_confirmed_at')
