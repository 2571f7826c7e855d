"""matchmaking events (issue 11): events, slots, attached scenarios, registrations, check-ins,
meeting requests, meetings, outcomes, reminders, art. 9 demonstration declarations

Unique constraints carry the scheduler's idempotence: event.plan_key, event_reminder
(event_id, organisation_id, kind), meeting_request (event_id, pair_low, pair_high).

Revision ID: f814358fa85b
Revises: c5d8e2f1a9b3
Create Date: 2026-12-05 17:45:40.021146

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f814358fa85b'
down_revision = 'c5d8e2f1a9b3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_key', sa.String(length=20), nullable=True),
    sa.Column('track', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('venue', sa.String(length=200), nullable=False),
    sa.Column('event_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('target_scenarios', sa.Integer(), nullable=False),
    sa.Column('tables', sa.Integer(), nullable=False),
    sa.Column('max_meetings', sa.Integer(), nullable=False),
    sa.Column('registration_opens_on', sa.Date(), nullable=True),
    sa.Column('registration_closes_on', sa.Date(), nullable=True),
    sa.Column('agenda_due_on', sa.Date(), nullable=True),
    sa.Column('agenda_total', sa.Float(), nullable=True),
    sa.Column('agenda_bound', sa.Float(), nullable=True),
    sa.Column('agenda_optimal', sa.Boolean(), nullable=True),
    sa.Column('agenda_greedy_total', sa.Float(), nullable=True),
    sa.Column('agenda_method', sa.String(length=20), nullable=True),
    sa.Column('agenda_computed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event')),
    sa.UniqueConstraint('plan_key', name=op.f('uq_event_plan_key'))
    )
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_track'), ['track'], unique=False)

    op.create_table('event_slot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('start_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_event_slot_event_id_event')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_slot')),
    sa.UniqueConstraint('event_id', 'position', name=op.f('uq_event_slot_event_id_position'))
    )
    with op.batch_alter_table('event_slot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_slot_event_id'), ['event_id'], unique=False)

    op.create_table('event_reminder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_event_reminder_event_id_event')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_event_reminder_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_reminder')),
    sa.UniqueConstraint('event_id', 'organisation_id', 'kind', name=op.f('uq_event_reminder_event_id_organisation_id_kind'))
    )
    with op.batch_alter_table('event_reminder', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_reminder_event_id'), ['event_id'], unique=False)

    op.create_table('event_registration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('side', sa.String(length=10), nullable=False),
    sa.Column('interests', sa.JSON(), nullable=False),
    sa.Column('available_slots', sa.JSON(), nullable=False),
    sa.Column('checkin_code', sa.String(length=32), nullable=False),
    sa.Column('registered_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_event_registration_event_id_event')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_event_registration_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['registered_by_id'], ['user.id'], name=op.f('fk_event_registration_registered_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_registration')),
    sa.UniqueConstraint('checkin_code', name=op.f('uq_event_registration_checkin_code')),
    sa.UniqueConstraint('event_id', 'organisation_id', name=op.f('uq_event_registration_event_id_organisation_id'))
    )
    with op.batch_alter_table('event_registration', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_registration_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_registration_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('event_scenario',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('attached_by_id', sa.Integer(), nullable=True),
    sa.Column('attached_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attached_by_id'], ['user.id'], name=op.f('fk_event_scenario_attached_by_id_user')),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_event_scenario_event_id_event')),
    sa.ForeignKeyConstraint(['listing_id'], ['listing.id'], name=op.f('fk_event_scenario_listing_id_listing')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_scenario')),
    sa.UniqueConstraint('event_id', 'listing_id', name=op.f('uq_event_scenario_event_id_listing_id'))
    )
    with op.batch_alter_table('event_scenario', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_scenario_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_scenario_listing_id'), ['listing_id'], unique=False)

    op.create_table('meeting_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('from_org_id', sa.Integer(), nullable=False),
    sa.Column('to_org_id', sa.Integer(), nullable=False),
    sa.Column('pair_low', sa.Integer(), nullable=False),
    sa.Column('pair_high', sa.Integer(), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('weight', sa.Float(), nullable=False),
    sa.Column('weight_detail', sa.JSON(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_meeting_request_event_id_event')),
    sa.ForeignKeyConstraint(['from_org_id'], ['organisation.id'], name=op.f('fk_meeting_request_from_org_id_organisation')),
    sa.ForeignKeyConstraint(['listing_id'], ['listing.id'], name=op.f('fk_meeting_request_listing_id_listing')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user.id'], name=op.f('fk_meeting_request_requested_by_id_user')),
    sa.ForeignKeyConstraint(['to_org_id'], ['organisation.id'], name=op.f('fk_meeting_request_to_org_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_request')),
    sa.UniqueConstraint('event_id', 'pair_low', 'pair_high', name=op.f('uq_meeting_request_event_id_pair_low_pair_high'))
    )
    with op.batch_alter_table('meeting_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_request_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_request_from_org_id'), ['from_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_request_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_request_to_org_id'), ['to_org_id'], unique=False)

    op.create_table('event_checkin',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['registration_id'], ['event_registration.id'], name=op.f('fk_event_checkin_registration_id_event_registration')),
    sa.ForeignKeyConstraint(['staff_id'], ['user.id'], name=op.f('fk_event_checkin_staff_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_checkin')),
    sa.UniqueConstraint('registration_id', name=op.f('uq_event_checkin_registration_id'))
    )
    op.create_table('event_meeting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=False),
    sa.Column('table_no', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_event_meeting_event_id_event')),
    sa.ForeignKeyConstraint(['request_id'], ['meeting_request.id'], name=op.f('fk_event_meeting_request_id_meeting_request')),
    sa.ForeignKeyConstraint(['slot_id'], ['event_slot.id'], name=op.f('fk_event_meeting_slot_id_event_slot')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_meeting')),
    sa.UniqueConstraint('request_id', name=op.f('uq_event_meeting_request_id')),
    sa.UniqueConstraint('slot_id', 'table_no', name=op.f('uq_event_meeting_slot_id_table_no'))
    )
    with op.batch_alter_table('event_meeting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_meeting_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_meeting_slot_id'), ['slot_id'], unique=False)

    op.create_table('event_outcome',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('result', sa.String(length=12), nullable=False),
    sa.Column('bid_id', sa.Integer(), nullable=True),
    sa.Column('contract_id', sa.Integer(), nullable=True),
    sa.Column('ledger_entry_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['bid_id'], ['bid.id'], name=op.f('fk_event_outcome_bid_id_bid')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_event_outcome_contract_id_contract')),
    sa.ForeignKeyConstraint(['ledger_entry_id'], ['ledger_entry.id'], name=op.f('fk_event_outcome_ledger_entry_id_ledger_entry')),
    sa.ForeignKeyConstraint(['meeting_id'], ['event_meeting.id'], name=op.f('fk_event_outcome_meeting_id_event_meeting')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_event_outcome_recorded_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_outcome')),
    sa.UniqueConstraint('meeting_id', name=op.f('uq_event_outcome_meeting_id'))
    )
    op.create_table('demo_declaration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('outcome_id', sa.Integer(), nullable=True),
    sa.Column('listing_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('scores', sa.JSON(), nullable=False),
    sa.Column('total_score', sa.Integer(), nullable=True),
    sa.Column('proposed_tier', sa.String(length=20), nullable=True),
    sa.Column('proposed_amount_cny', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('review_comment', sa.Text(), nullable=True),
    sa.Column('declared_by_id', sa.Integer(), nullable=True),
    sa.Column('graded_by_id', sa.Integer(), nullable=True),
    sa.Column('graded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('handed_off_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['declared_by_id'], ['user.id'], name=op.f('fk_demo_declaration_declared_by_id_user')),
    sa.ForeignKeyConstraint(['graded_by_id'], ['user.id'], name=op.f('fk_demo_declaration_graded_by_id_user')),
    sa.ForeignKeyConstraint(['listing_id'], ['listing.id'], name=op.f('fk_demo_declaration_listing_id_listing')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_demo_declaration_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['outcome_id'], ['event_outcome.id'], name=op.f('fk_demo_declaration_outcome_id_event_outcome')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_demo_declaration'))
    )
    with op.batch_alter_table('demo_declaration', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_demo_declaration_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_demo_declaration_status'), ['status'], unique=False)



def downgrade():
    with op.batch_alter_table('demo_declaration', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_demo_declaration_status'))
        batch_op.drop_index(batch_op.f('ix_demo_declaration_organisation_id'))

    op.drop_table('demo_declaration')
    op.drop_table('event_outcome')
    with op.batch_alter_table('event_meeting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_meeting_slot_id'))
        batch_op.drop_index(batch_op.f('ix_event_meeting_event_id'))

    op.drop_table('event_meeting')
    op.drop_table('event_checkin')
    with op.batch_alter_table('meeting_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_request_to_org_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_request_status'))
        batch_op.drop_index(batch_op.f('ix_meeting_request_from_org_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_request_event_id'))

    op.drop_table('meeting_request')
    with op.batch_alter_table('event_scenario', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_scenario_listing_id'))
        batch_op.drop_index(batch_op.f('ix_event_scenario_event_id'))

    op.drop_table('event_scenario')
    with op.batch_alter_table('event_registration', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_registration_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_event_registration_event_id'))

    op.drop_table('event_registration')
    with op.batch_alter_table('event_reminder', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_reminder_event_id'))

    op.drop_table('event_reminder')
    with op.batch_alter_table('event_slot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_slot_event_id'))

    op.drop_table('event_slot')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_track'))
        batch_op.drop_index(batch_op.f('ix_event_status'))

    op.drop_table('event')
