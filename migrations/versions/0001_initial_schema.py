"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-28 15:58:07.205037

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('agency',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=40), nullable=False),
    sa.Column('name_es', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('observes_pr_holidays', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('agency', 'corporation', 'municipality')", name=op.f('ck_agency_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agency')),
    sa.UniqueConstraint('slug', name=op.f('uq_agency_slug'))
    )
    op.create_table('office',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=60), nullable=False),
    sa.Column('name_es', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('is_remote', sa.Boolean(), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('municipality', sa.String(length=80), nullable=True),
    sa.Column('phone', sa.String(length=30), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_office_agency_id_agency')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_office')),
    sa.UniqueConstraint('agency_id', 'slug', name=op.f('uq_office_agency_id_slug'))
    )
    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_office_agency_id'), ['agency_id'], unique=False)

    op.create_table('service',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=60), nullable=False),
    sa.Column('name_es', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('description_es', sa.Text(), nullable=False),
    sa.Column('description_en', sa.Text(), nullable=False),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('slot_minutes', sa.Integer(), nullable=False),
    sa.Column('capacity_per_slot', sa.Integer(), nullable=False),
    sa.Column('lead_time_minutes', sa.Integer(), nullable=False),
    sa.Column('horizon_days', sa.Integer(), nullable=False),
    sa.Column('daily_capacity', sa.Integer(), nullable=True),
    sa.Column('turn_prefix', sa.String(length=4), nullable=True),
    sa.Column('asks_licence_number', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.CheckConstraint("mode IN ('video', 'in_person', 'phone_turn')", name=op.f('ck_service_mode')),
    sa.CheckConstraint('capacity_per_slot > 0', name=op.f('ck_service_capacity_positive')),
    sa.CheckConstraint('daily_capacity IS NULL OR daily_capacity > 0', name=op.f('ck_service_daily_capacity_positive')),
    sa.CheckConstraint('horizon_days > 0', name=op.f('ck_service_horizon_positive')),
    sa.CheckConstraint('lead_time_minutes >= 0', name=op.f('ck_service_lead_time_not_negative')),
    sa.CheckConstraint('slot_minutes > 0', name=op.f('ck_service_slot_minutes_positive')),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_service_agency_id_agency')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service')),
    sa.UniqueConstraint('slug', name=op.f('uq_service_slug'))
    )
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_agency_id'), ['agency_id'], unique=False)

    op.create_table('staff',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role = 'superadmin' OR agency_id IS NOT NULL", name=op.f('ck_staff_agency_unless_superadmin')),
    sa.CheckConstraint("role IN ('clerk', 'admin', 'superadmin')", name=op.f('ck_staff_role')),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_staff_agency_id_agency')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff')),
    sa.UniqueConstraint('email', name=op.f('uq_staff_email'))
    )
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_agency_id'), ['agency_id'], unique=False)

    op.create_table('appointment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('start_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seat', sa.Integer(), nullable=True),
    sa.Column('citizen_seat', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('citizen_name', sa.String(length=120), nullable=False),
    sa.Column('citizen_email', sa.String(length=254), nullable=False),
    sa.Column('citizen_phone', sa.String(length=30), nullable=False),
    sa.Column('licence_number', sa.String(length=30), nullable=True),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('join_token_hash', sa.String(length=64), nullable=True),
    sa.Column('manage_token_hash', sa.String(length=64), nullable=False),
    sa.Column('clerk_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=30), nullable=True),
    sa.Column('outcome_message', sa.Text(), nullable=True),
    sa.Column('identity_verified_by_id', sa.Integer(), nullable=True),
    sa.Column('identity_verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(status = 'cancelled') = (seat IS NULL)", name=op.f('ck_appointment_seat_held_unless_cancelled')),
    sa.CheckConstraint("language IN ('es', 'en')", name=op.f('ck_appointment_language')),
    sa.CheckConstraint("outcome IS NULL OR outcome IN ('completed', 'needs_in_person', 'documents_missing', 'no_show', 'technical_failure', 'phone_fallback')", name=op.f('ck_appointment_outcome')),
    sa.CheckConstraint("status IN ('booked', 'checked_in', 'in_call', 'completed', 'no_show', 'cancelled')", name=op.f('ck_appointment_status')),
    sa.CheckConstraint('citizen_seat IS NULL OR citizen_seat >= 1', name=op.f('ck_appointment_citizen_seat_positive')),
    sa.CheckConstraint('end_at > start_at', name=op.f('ck_appointment_ends_after_start')),
    sa.CheckConstraint('seat IS NULL OR seat >= 1', name=op.f('ck_appointment_seat_positive')),
    sa.ForeignKeyConstraint(['clerk_id'], ['staff.id'], name=op.f('fk_appointment_clerk_id_staff')),
    sa.ForeignKeyConstraint(['identity_verified_by_id'], ['staff.id'], name=op.f('fk_appointment_identity_verified_by_id_staff')),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_appointment_office_id_office')),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_appointment_service_id_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment')),
    sa.UniqueConstraint('join_token_hash', name=op.f('uq_appointment_join_token_hash')),
    sa.UniqueConstraint('manage_token_hash', name=op.f('uq_appointment_manage_token_hash')),
    sa.UniqueConstraint('reference', name=op.f('uq_appointment_reference')),
    sa.UniqueConstraint('service_id', 'citizen_email', 'citizen_seat', name='uq_appointment_citizen_seat'),
    sa.UniqueConstraint('service_id', 'office_id', 'start_at', 'seat', name='uq_appointment_seat')
    )
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appointment_citizen_email'), ['citizen_email'], unique=False)
        batch_op.create_index('ix_appointment_slot', ['service_id', 'start_at'], unique=False)

    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_staff_id', sa.Integer(), nullable=True),
    sa.Column('agency_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('object_type', sa.String(length=40), nullable=True),
    sa.Column('object_id', sa.Integer(), nullable=True),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_staff_id'], ['staff.id'], name=op.f('fk_audit_event_actor_staff_id_staff')),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_audit_event_agency_id_agency')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_at'), ['at'], unique=False)

    op.create_table('closure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=True),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('reason_es', sa.String(length=200), nullable=False),
    sa.Column('reason_en', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_closure_agency_id_agency')),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_closure_office_id_office'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_closure')),
    sa.UniqueConstraint('agency_id', 'office_id', 'day', name=op.f('uq_closure_agency_id_office_id_day'))
    )
    with op.batch_alter_table('closure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_closure_agency_id'), ['agency_id'], unique=False)

    op.create_table('document_requirement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('label_es', sa.String(length=200), nullable=False),
    sa.Column('label_en', sa.String(length=200), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('max_pages', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.CheckConstraint('max_pages > 0', name=op.f('ck_document_requirement_max_pages_positive')),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_document_requirement_service_id_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_requirement')),
    sa.UniqueConstraint('service_id', 'code', name=op.f('uq_document_requirement_service_id_code'))
    )
    op.create_table('opening_hours',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('opens_at', sa.Time(), nullable=False),
    sa.Column('closes_at', sa.Time(), nullable=False),
    sa.CheckConstraint('opens_at < closes_at', name=op.f('ck_opening_hours_opens_before_closes')),
    sa.CheckConstraint('weekday BETWEEN 0 AND 6', name=op.f('ck_opening_hours_weekday')),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_opening_hours_office_id_office'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opening_hours')),
    sa.UniqueConstraint('office_id', 'weekday', 'opens_at', name=op.f('uq_opening_hours_office_id_weekday_opens_at'))
    )
    op.create_table('service_office',
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_service_office_office_id_office'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_service_office_service_id_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('service_id', 'office_id', name=op.f('pk_service_office'))
    )
    op.create_table('call_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=False),
    sa.Column('clerk_id', sa.Integer(), nullable=True),
    sa.Column('waiting_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('admitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('connected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.String(length=40), nullable=True),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_call_session_appointment_id_appointment')),
    sa.ForeignKeyConstraint(['clerk_id'], ['staff.id'], name=op.f('fk_call_session_clerk_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_session'))
    )
    with op.batch_alter_table('call_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_call_session_appointment_id'), ['appointment_id'], unique=False)

    op.create_table('document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=False),
    sa.Column('requirement_code', sa.String(length=40), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=100), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('purged_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("source IN ('citizen', 'clerk')", name=op.f('ck_document_source')),
    sa.CheckConstraint('pages > 0', name=op.f('ck_document_pages_positive')),
    sa.CheckConstraint('size_bytes >= 0', name=op.f('ck_document_size_not_negative')),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_document_appointment_id_appointment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_document_storage_key'))
    )
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_appointment_id'), ['appointment_id'], unique=False)

    op.create_table('survey_response',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=False),
    sa.Column('comment', sa.String(length=1000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('rating BETWEEN 1 AND 5', name=op.f('ck_survey_response_rating_range')),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_survey_response_appointment_id_appointment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_response')),
    sa.UniqueConstraint('appointment_id', name=op.f('uq_survey_response_appointment_id'))
    )
    op.create_table('turn',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=True),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('citizen_name', sa.String(length=120), nullable=False),
    sa.Column('citizen_phone', sa.String(length=30), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_token_hash', sa.String(length=64), nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('priority_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('active_phone', sa.String(length=30), nullable=True),
    sa.Column('called_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('clerk_id', sa.Integer(), nullable=True),
    sa.Column('moved_back', sa.Boolean(), nullable=False),
    sa.Column('no_answer_count', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("active_phone IS NULL OR status IN ('waiting', 'calling', 'no_answer')", name=op.f('ck_turn_active_phone_only_while_active')),
    sa.CheckConstraint("language IN ('es', 'en')", name=op.f('ck_turn_language')),
    sa.CheckConstraint("status IN ('waiting', 'calling', 'attended', 'no_answer', 'cancelled', 'missed')", name=op.f('ck_turn_status')),
    sa.CheckConstraint('number > 0', name=op.f('ck_turn_number_positive')),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_turn_appointment_id_appointment')),
    sa.ForeignKeyConstraint(['clerk_id'], ['staff.id'], name=op.f('fk_turn_clerk_id_staff')),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_turn_office_id_office')),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_turn_service_id_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_turn')),
    sa.UniqueConstraint('appointment_id', name='uq_turn_appointment_id'),
    sa.UniqueConstraint('service_id', 'day', 'active_phone', name='uq_turn_active_phone'),
    sa.UniqueConstraint('service_id', 'day', 'number', name=op.f('uq_turn_service_id_day_number')),
    sa.UniqueConstraint('status_token_hash', name=op.f('uq_turn_status_token_hash'))
    )
    with op.batch_alter_table('turn', schema=None) as batch_op:
        batch_op.create_index('ix_turn_queue', ['service_id', 'day', 'status'], unique=False)

    op.create_table('outbox_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=True),
    sa.Column('attachments', sa.JSON(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=120), nullable=True),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.Column('turn_id', sa.Integer(), nullable=True),
    sa.Column('send_after', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("channel IN ('email', 'sms')", name=op.f('ck_outbox_message_channel')),
    sa.CheckConstraint("language IN ('es', 'en')", name=op.f('ck_outbox_message_language')),
    sa.CheckConstraint("status IN ('pending', 'sent', 'failed', 'cancelled')", name=op.f('ck_outbox_message_status')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_outbox_message_attempts_not_negative')),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_outbox_message_appointment_id_appointment')),
    sa.ForeignKeyConstraint(['turn_id'], ['turn.id'], name=op.f('fk_outbox_message_turn_id_turn')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_message')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_outbox_message_dedupe_key'))
    )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_due', ['status', 'send_after'], unique=False)



def downgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_due')

    op.drop_table('outbox_message')
    with op.batch_alter_table('turn', schema=None) as batch_op:
        batch_op.drop_index('ix_turn_queue')

    op.drop_table('turn')
    op.drop_table('survey_response')
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_appointment_id'))

    op.drop_table('document')
    with op.batch_alter_table('call_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_call_session_appointment_id'))

    op.drop_table('call_session')
    op.drop_table('service_office')
    op.drop_table('opening_hours')
    op.drop_table('document_requirement')
    with op.batch_alter_table('closure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_closure_agency_id'))

    op.drop_table('closure')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_at'))
        batch_op.drop_index(batch_op.f('ix_audit_event_agency_id'))

    op.drop_table('audit_event')
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_index('ix_appointment_slot')
        batch_op.drop_index(batch_op.f('ix_appointment_citizen_email'))

    op.drop_table('appointment')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_agency_id'))

    op.drop_table('staff')
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_agency_id'))

    op.drop_table('service')
    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_office_agency_id'))

    op.drop_table('office')
    op.drop_table('agency')
