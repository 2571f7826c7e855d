"""user.session_version: logout, password change or reset end every session of the user

A session and a remember-me cookie carry the version they were issued for; bumping it (logout,
password change or reset, deactivation) makes copies of older cookies useless.

Revision ID: a3c9e51f0b27
Revises: a3f1c2d4e5b6
Create Date: 2026-12-05 17:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a3c9e51f0b27'
down_revision = 'a3f1c2d4e5b6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('session_version')
