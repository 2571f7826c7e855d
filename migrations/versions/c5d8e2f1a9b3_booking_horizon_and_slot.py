"""resource_availability.max_horizon_days and slot_minutes: the booking rules are fields of the resource

The minimum notice (lead_time_hours) was already one; the farthest day one may book and the slot
length join it, enforced by the booking service and shown on the listing and booking pages.

Revision ID: c5d8e2f1a9b3
Revises: b3c9e1a47d20
Create Date: 2026-12-05 18:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c5d8e2f1a9b3'
down_revision = 'b3c9e1a47d20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('resource_availability', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_horizon_days', sa.Integer(), server_default='90', nullable=False))
        batch_op.add_column(sa.Column('slot_minutes', sa.Integer(), server_default='60', nullable=False))


def downgrade():
    with op.batch_alter_table('resource_availability', schema=None) as batch_op:
        batch_op.drop_column('slot_minutes')
        batch_op.drop_column('max_horizon_days')
